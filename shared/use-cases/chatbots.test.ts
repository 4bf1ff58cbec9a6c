import { describe, expect, it } from 'vitest';
import { fakeGatewayDeps } from '../testing/fakes.ts';
import { isModelAllowed, upsertChatbot } from './chatbots.ts';

describe('upsertChatbot', () => {
  it('refuses a model the stage does not allow with 400 MODEL_NOT_ALLOWED listing the allowed ones, writing nothing', async () => {
    const deps = fakeGatewayDeps({
      allowedModels: ['amazon.nova-lite-v1:0', 'bedrock:amazon.nova-pro-v1:0'],
    });
    const refused = upsertChatbot(deps, 't1', 'bot', { aiEnabled: true, model: 'openai:gpt-4o' });
    await expect(refused).rejects.toMatchObject({
      kind: 'invalid',
      code: 'MODEL_NOT_ALLOWED',
      message: expect.stringContaining('amazon.nova-lite-v1:0, bedrock:amazon.nova-pro-v1:0'),
      details: [
        {
          path: 'body.model',
          message: 'must be one of: amazon.nova-lite-v1:0, bedrock:amazon.nova-pro-v1:0',
        },
      ],
    });
    expect(deps.chatbots.items.size).toBe(0);
    const ok = await upsertChatbot(deps, 't1', 'bot', {
      aiEnabled: true,
      model: 'bedrock:amazon.nova-pro-v1:0',
    });
    expect(ok).toMatchObject({ aiEnabled: true, model: 'bedrock:amazon.nova-pro-v1:0' });
  });

  it('creates a chatbot with AI off unless asked, and without a model uses the default', async () => {
    const deps = fakeGatewayDeps();
    expect(await upsertChatbot(deps, 't1', 'bot', { name: 'Bot' })).toMatchObject({ aiEnabled: false });
    expect((await upsertChatbot(deps, 't1', 'bot', { aiEnabled: true })).model).toBeUndefined();
  });

  it('treats unset and blank as the default model, and matches listed models exactly', () => {
    expect(isModelAllowed(undefined, ['offline'])).toBe(true);
    expect(isModelAllowed('  ', ['offline'])).toBe(true);
    expect(isModelAllowed(' offline ', ['offline'])).toBe(true);
    expect(isModelAllowed('Offline', ['offline'])).toBe(false);
    expect(isModelAllowed('openai:offline', ['offline'])).toBe(false);
  });
});
