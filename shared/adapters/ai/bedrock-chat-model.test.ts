import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockChatModel } from './bedrock-chat-model.ts';
import { type LoopbackServer, startLoopbackServer } from './loopback-server.test-helper.ts';

// The adapter against a loopback server speaking Bedrock's Converse REST-JSON wire format.

let server: LoopbackServer;
let client: BedrockRuntimeClient;
let model: BedrockChatModel;

beforeAll(async () => {
  server = await startLoopbackServer({ http2: true });
  client = new BedrockRuntimeClient({
    endpoint: server.url,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  model = new BedrockChatModel(client);
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

const request = {
  model: 'amazon.nova-lite-v1:0',
  system: 'Be brief.',
  messages: [
    { role: 'user' as const, text: 'Hi' },
    { role: 'assistant' as const, text: 'Hello!' },
    { role: 'user' as const, text: 'Opening hours?' },
  ],
  maxTokens: 256,
  timeoutMs: 2000,
};

const bedrockError = (status: number, type: string) => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
  body: { message: `${type} happened` },
});

describe('BedrockChatModel', () => {
  it('sends a signed Converse request and reads the reply and token usage', async () => {
    server.respond = () => ({
      status: 200,
      body: {
        output: { message: { role: 'assistant', content: [{ text: 'We open at 9.' }] } },
        stopReason: 'end_turn',
        usage: { inputTokens: 42, outputTokens: 6, totalTokens: 48 },
        metrics: { latencyMs: 120 },
      },
    });
    expect(await model.complete(request)).toEqual({
      text: 'We open at 9.',
      inputTokens: 42,
      outputTokens: 6,
    });

    const [sent] = server.requests;
    expect(sent?.method).toBe('POST');
    expect(decodeURIComponent(sent?.path ?? '')).toBe('/model/amazon.nova-lite-v1:0/converse');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDLOCAL\/\d{8}\/eu-central-1\/bedrock\/aws4_request, SignedHeaders=.+, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      system: [{ text: 'Be brief.' }],
      messages: [
        { role: 'user', content: [{ text: 'Hi' }] },
        { role: 'assistant', content: [{ text: 'Hello!' }] },
        { role: 'user', content: [{ text: 'Opening hours?' }] },
      ],
      inferenceConfig: { maxTokens: 256 },
    });
  });

  it.each([
    [429, 'ThrottlingException', 'unavailable', 'SERVICE_UNAVAILABLE'],
    [503, 'ServiceUnavailableException', 'unavailable', 'SERVICE_UNAVAILABLE'],
    [500, 'InternalServerException', 'unavailable', 'SERVICE_UNAVAILABLE'],
    [408, 'ModelTimeoutException', 'unavailable', 'SERVICE_UNAVAILABLE'],
    [400, 'ValidationException', 'invalid', 'AI_REQUEST_REJECTED'],
    [404, 'ResourceNotFoundException', 'invalid', 'AI_REQUEST_REJECTED'],
    [403, 'AccessDeniedException', 'internal', 'AI_PROVIDER_MISCONFIGURED'],
  ])('maps HTTP %i %s to %s', async (status, type, kind, code) => {
    server.respond = () => bedrockError(status, type);
    await expect(model.complete(request)).rejects.toMatchObject({ kind, code });
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after the timeout as unavailable', async () => {
    server.respond = () => 'hang';
    const started = Date.now();
    await expect(model.complete({ ...request, timeoutMs: 300 })).rejects.toMatchObject({
      kind: 'unavailable',
    });
    expect(server.requests).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
