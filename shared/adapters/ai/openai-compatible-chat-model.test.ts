import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackServer, startLoopbackServer } from './loopback-server.test-helper.ts';
import { OpenAiCompatibleChatModel } from './openai-compatible-chat-model.ts';

// The adapter against a loopback server speaking the OpenAI chat completions wire format.

let server: LoopbackServer;
let model: OpenAiCompatibleChatModel;

beforeAll(async () => {
  server = await startLoopbackServer();
  model = new OpenAiCompatibleChatModel({ baseUrl: `${server.url}/v1/`, apiKey: async () => 'sk-test-123' });
});
afterAll(() => server?.close());
beforeEach(() => {
  server.requests.length = 0;
});

const request = {
  model: 'gpt-4o-mini',
  system: 'Be brief.',
  messages: [
    { role: 'user' as const, text: 'Hi' },
    { role: 'assistant' as const, text: 'Hello!' },
    { role: 'user' as const, text: 'Opening hours?' },
  ],
  maxTokens: 128,
  timeoutMs: 2000,
};

describe('OpenAiCompatibleChatModel', () => {
  it('posts a chat completion with the bearer key and reads the reply and usage', async () => {
    server.respond = () => ({
      status: 200,
      body: {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'We open at 9.' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 31, completion_tokens: 5, total_tokens: 36 },
      },
    });
    expect(await model.complete(request)).toEqual({
      text: 'We open at 9.',
      inputTokens: 31,
      outputTokens: 5,
    });
    const [sent] = server.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.headers.authorization).toBe('Bearer sk-test-123');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Opening hours?' },
      ],
      max_tokens: 128,
    });
  });

  it('estimates tokens when the endpoint reports no usage', async () => {
    server.respond = () => ({ status: 200, body: { choices: [{ message: { content: '12345678' } }] } });
    expect(await model.complete(request)).toMatchObject({ text: '12345678', outputTokens: 2 });
  });

  it.each([
    [429, 'unavailable', 'SERVICE_UNAVAILABLE'],
    [500, 'unavailable', 'SERVICE_UNAVAILABLE'],
    [503, 'unavailable', 'SERVICE_UNAVAILABLE'],
    [400, 'invalid', 'AI_REQUEST_REJECTED'],
    [404, 'invalid', 'AI_REQUEST_REJECTED'],
    [401, 'internal', 'AI_PROVIDER_MISCONFIGURED'],
    [403, 'internal', 'AI_PROVIDER_MISCONFIGURED'],
  ])('maps HTTP %i to %s', async (status, kind, code) => {
    server.respond = () => ({
      status,
      body: { error: { message: 'The model `nope` does not exist', type: 'invalid_request_error' } },
    });
    await expect(model.complete(request)).rejects.toMatchObject({ kind, code });
  });

  it('keeps the provider message of a refused request', async () => {
    server.respond = () => ({ status: 400, body: { error: { message: 'maximum context length exceeded' } } });
    await expect(model.complete(request)).rejects.toThrow(/maximum context length exceeded/);
  });

  it('treats an unreadable answer as a configuration problem', async () => {
    server.respond = () => ({ status: 200, body: '<html>proxy login</html>' });
    await expect(model.complete(request)).rejects.toMatchObject({ code: 'AI_PROVIDER_MISCONFIGURED' });
  });

  it('gives up after the timeout, and on a refused connection, as unavailable', async () => {
    server.respond = () => 'hang';
    await expect(model.complete({ ...request, timeoutMs: 200 })).rejects.toMatchObject({
      kind: 'unavailable',
    });
    const closed = new OpenAiCompatibleChatModel({ baseUrl: 'http://127.0.0.1:9', apiKey: async () => 'k' });
    await expect(closed.complete(request)).rejects.toMatchObject({ kind: 'unavailable' });
  });
});
