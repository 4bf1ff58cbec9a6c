import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '#local/stand-ins/free-port.ts';
import { apiKeyOf, handler } from './authorizer.ts';

// The authorizer with its table unreachable: it must not let the request in, and must say why.

let restore: NodeJS.ProcessEnv;
beforeAll(async () => {
  restore = { ...process.env };
  Object.assign(process.env, {
    TENANTS_TABLE: 'tenants',
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
});
afterAll(() => {
  process.env = restore;
});

describe('authorizer', () => {
  it('reads the key from a Bearer token or x-api-key', () => {
    expect(apiKeyOf({ authorization: 'Bearer abc' })).toBe('abc');
    expect(apiKeyOf({ authorization: 'bearer  abc ' })).toBe('abc');
    expect(apiKeyOf({ 'x-api-key': 'xyz' })).toBe('xyz');
    expect(apiKeyOf({ authorization: 'Basic abc' })).toBeUndefined();
    expect(apiKeyOf({})).toBeUndefined();
  });

  it('passes no tenant and a 503 verdict when the tenants table is unreachable', async () => {
    const event = { headers: { authorization: 'Bearer wqg_x' } } as unknown as Parameters<typeof handler>[0];
    expect(await handler(event)).toEqual({
      isAuthorized: true,
      context: { tenantId: '', authError: 'SERVICE_UNAVAILABLE' },
    });
  });

  it('passes no tenant without a key, without touching the table', async () => {
    const event = { headers: {} } as unknown as Parameters<typeof handler>[0];
    expect(await handler(event)).toEqual({ isAuthorized: true, context: { tenantId: '' } });
  });
});
