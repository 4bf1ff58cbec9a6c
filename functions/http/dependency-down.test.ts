import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { freePort } from '#local/stand-ins/free-port.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// SQS is down (nothing listens on its endpoint): every write that needs it answers 503 and leaves nothing behind.

let aws: TestAws;
let api: LocalApi;
let apiKey: string;

beforeAll(async () => {
  aws = await provisionTestAws();
  const deadSqs = `http://127.0.0.1:${await freePort()}`;
  Object.assign(process.env, aws.env, { SQS_ENDPOINT: deadSqs, POWERTOOLS_LOG_LEVEL: 'ERROR' });
  api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  apiKey = (await createTenant({ tenants, clock: systemClock }, 'T')).apiKey;
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

const post = (path: string, body: unknown) =>
  fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('a dependency that is down', () => {
  it('answers init with 503 and Retry-After, and keeps no session', async () => {
    const res = await post('/whatsapp-qr/init', { chatbotId: 'bot' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
    const lookup = await fetch(`${api.url}/whatsapp-qr/session/bot`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(lookup.status).toBe(404);
    expect(((await lookup.json()) as { error: { code: string } }).error.code).toBe('SESSION_NOT_FOUND');
  });
});
