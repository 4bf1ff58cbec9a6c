import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// The per-tenant limits and the model allow-list over real HTTP (local API gateway → authorizer →
// handlers → DynamoDB Local), with small limits set the way infra sets them: through the env.

let aws: TestAws;
let api: LocalApi;
let tenants: DynamoTenantStore;

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, {
    INIT_RATE_PER_MINUTE: '3',
    SESSIONS_PER_TENANT: '2',
    ALLOWED_MODELS: 'amazon.nova-lite-v1:0, bedrock:amazon.nova-pro-v1:0',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  api = await startLocalApi({ port: 0 });
  tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

const newKey = async () => (await createTenant({ tenants, clock: systemClock }, 'Limited')).apiKey;
const call = async (key: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${api.url}/whatsapp-qr${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON
    body: (await response.json()) as any,
    retryAfter: response.headers.get('retry-after'),
  };
};
const init = (key: string, chatbotId: string) => call(key, 'POST', '/init', { chatbotId });

describe('per-tenant limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After beyond INIT_RATE_PER_MINUTE, for that tenant only', async () => {
    // Four inits in one minute window; should they straddle a minute edge, once more with a new tenant.
    const fourInits = async () => {
      const key = await newKey();
      const minute = Math.floor(Date.now() / 60_000);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await init(key, 'rate-bot'));
      return Math.floor(Date.now() / 60_000) === minute ? results : undefined;
    };
    const results = (await fourInits()) ?? (await fourInits());
    expect(results?.map((r) => r.status)).toEqual([201, 200, 200, 429]);
    const refused = results?.[3];
    expect(refused?.body.error).toEqual({ code: 'RATE_LIMITED', message: 'Too many inits for this tenant' });
    expect(Number(refused?.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused?.retryAfter)).toBeLessThanOrEqual(60);
    expect((await init(await newKey(), 'rate-bot')).status).toBe(201);
  });

  it('answers 429 RATE_LIMITED beyond SESSIONS_PER_TENANT sessions, and creates no session', async () => {
    const key = await newKey();
    expect((await init(key, 'a')).status).toBe(201);
    expect((await init(key, 'b')).status).toBe(201);
    const refused = await init(key, 'c');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(refused.body.error.message).toContain('sessions');
    expect(refused.retryAfter).toMatch(/^\d+$/);
    expect((await call(key, 'GET', '/session/c')).body.error.code).toBe('CHATBOT_NOT_FOUND'); // nothing was written
  });
});

describe('model allow-list', () => {
  it('refuses a model the stage does not allow with 400 listing the allowed ones, and changes nothing', async () => {
    const key = await newKey();
    const created = await call(key, 'PUT', '/chatbots/m-bot', { name: 'M', model: 'amazon.nova-lite-v1:0' });
    expect([created.status, created.body.model]).toEqual([200, 'amazon.nova-lite-v1:0']);
    const refused = await call(key, 'PUT', '/chatbots/m-bot', { aiEnabled: true, model: 'openai:gpt-4o' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({
      code: 'MODEL_NOT_ALLOWED',
      message: 'This model is not allowed here; allowed: amazon.nova-lite-v1:0, bedrock:amazon.nova-pro-v1:0',
      details: [
        {
          path: 'body.model',
          message: 'must be one of: amazon.nova-lite-v1:0, bedrock:amazon.nova-pro-v1:0',
        },
      ],
    });
    const unchanged = await call(key, 'PUT', '/chatbots/m-bot', {});
    expect(unchanged.body).toMatchObject({ model: 'amazon.nova-lite-v1:0', aiEnabled: false });
    expect(
      (await call(key, 'PUT', '/chatbots/m-bot', { model: 'bedrock:amazon.nova-pro-v1:0' })).status,
    ).toBe(200);
  });
});
