import { describe, expect, it } from 'vitest';
import type { ChatModel, ChatRequest } from '../../ports/chat-model.ts';
import { ModelRouter, resolveModel } from './model-router.ts';
import { OfflineChatModel } from './offline-chat-model.ts';

const request: ChatRequest = {
  system: 'Be brief.',
  messages: [{ role: 'user', text: 'Hello there' }],
  maxTokens: 100,
  timeoutMs: 1000,
};

const recording = (name: string) => {
  const calls: ChatRequest[] = [];
  const model: ChatModel = {
    complete: async (r) => {
      calls.push(r);
      return { text: name, inputTokens: 1, outputTokens: 1 };
    },
  };
  return { model, calls };
};

describe('resolveModel', () => {
  const bedrockDefault = { provider: 'bedrock' as const, model: 'amazon.nova-lite-v1:0' };
  it.each([
    [undefined, 'bedrock', 'amazon.nova-lite-v1:0'],
    ['', 'bedrock', 'amazon.nova-lite-v1:0'],
    ['offline', 'offline', 'offline'],
    ['openai:gpt-4o-mini', 'openai', 'gpt-4o-mini'],
    ['bedrock:anthropic.claude-3-haiku-20240307-v1:0', 'bedrock', 'anthropic.claude-3-haiku-20240307-v1:0'],
    ['eu.amazon.nova-pro-v1:0', 'bedrock', 'eu.amazon.nova-pro-v1:0'],
  ])('reads %j as provider %s, model %s', (setting, provider, model) => {
    expect(resolveModel(setting, bedrockDefault)).toEqual({ provider, model });
  });
});

describe('ModelRouter', () => {
  it('sends each request to the provider its model names, with the bare model id', async () => {
    const bedrock = recording('bedrock');
    const openai = recording('openai');
    const router = new ModelRouter(
      { provider: 'bedrock', model: 'amazon.nova-lite-v1:0' },
      { bedrock: bedrock.model, openai: openai.model, offline: new OfflineChatModel() },
    );
    expect((await router.complete(request)).text).toBe('bedrock');
    expect((await router.complete({ ...request, model: 'openai:gpt-4o' })).text).toBe('openai');
    expect((await router.complete({ ...request, model: 'offline', assistantName: 'Ana' })).text).toBe(
      'Ana: Echo: Hello there',
    );
    expect(bedrock.calls[0]?.model).toBe('amazon.nova-lite-v1:0');
    expect(openai.calls[0]?.model).toBe('gpt-4o');
  });

  it('refuses a provider that is not configured', async () => {
    const router = new ModelRouter({ provider: 'offline', model: 'x' }, { offline: new OfflineChatModel() });
    await expect(router.complete({ ...request, model: 'openai:gpt-4o' })).rejects.toMatchObject({
      kind: 'internal',
      code: 'AI_PROVIDER_MISCONFIGURED',
    });
  });
});

describe('OfflineChatModel', () => {
  it('answers deterministically, within the reply limit, with estimated tokens', async () => {
    const offline = new OfflineChatModel();
    const long = { ...request, messages: [{ role: 'user' as const, text: 'x'.repeat(1000) }], maxTokens: 10 };
    const reply = await offline.complete(long);
    expect(reply.text).toBe(`Echo: ${'x'.repeat(34)}`);
    expect(reply).toMatchObject({ inputTokens: 253, outputTokens: 10 });
    expect(await offline.complete(long)).toEqual(reply);
  });
});
