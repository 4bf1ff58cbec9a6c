import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fakes.ts';
import { InMemoryTenantStore } from '../testing/in-memory-stores.ts';
import {
  authenticate,
  createTenant,
  keyPrefixOf,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  setTenantDisabled,
} from './tenants.ts';

const setup = () => ({ tenants: new InMemoryTenantStore(), clock: new FakeClock() });

describe('tenant keys', () => {
  it("refuses a disabled tenant's keys (401) and accepts them again once enabled", async () => {
    const deps = setup();
    const { tenant, apiKey } = await createTenant(deps, 'Acme');
    expect(await authenticate(deps, apiKey)).toBe(tenant.tenantId);
    await setTenantDisabled(deps, tenant.tenantId, true);
    await expect(authenticate(deps, apiKey)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await setTenantDisabled(deps, tenant.tenantId, false);
    expect(await authenticate(deps, apiKey)).toBe(tenant.tenantId);
  });

  it('makes no key for an unknown tenant, and says so', async () => {
    const deps = setup();
    await expect(rotateApiKey(deps, 'ghost')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(listApiKeys(deps, 'ghost')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(setTenantDisabled(deps, 'ghost', true)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    expect(deps.tenants.keys.size).toBe(0);
  });

  it('says when a revoked key does not exist, and revokes a real one', async () => {
    const deps = setup();
    const { apiKey } = await createTenant(deps, 'Acme');
    await expect(revokeApiKey(deps, 'wqg_typo')).rejects.toMatchObject({ code: 'API_KEY_NOT_FOUND' });
    await revokeApiKey(deps, apiKey);
    await expect(authenticate(deps, apiKey)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('keeps 12 characters of a generated key and at most a third of a short hand-made one', async () => {
    const deps = setup();
    const { tenant, apiKey } = await createTenant(deps, 'Acme');
    expect(await listApiKeys(deps, tenant.tenantId)).toEqual([
      { prefix: apiKey.slice(0, 12), createdAt: deps.clock.now().toISOString() },
    ]);
    expect(keyPrefixOf('dev-key-1')).toBe('dev');
    expect(keyPrefixOf('ab')).toBe('');
  });
});
