import { randomBytes } from 'node:crypto';
import type { Tenant } from '../domain/entities.ts';
import { hashApiKey, newId } from '../domain/ids.ts';
import { UnauthorizedError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { TenantStore } from '../ports/tenant-store.ts';

/** A new random API key: only its hash is stored, so it is shown once. */
export const generateApiKey = (): string => `wqg_${randomBytes(24).toString('base64url')}`;

/** Creates a tenant with a fresh API key (or the given one) and returns the key in clear, once. */
export const createTenant = async (
  deps: { tenants: TenantStore; clock: Clock },
  name: string,
  apiKey: string = generateApiKey(),
): Promise<{ tenant: Tenant; apiKey: string }> => {
  const tenant: Tenant = { tenantId: newId(), name, createdAt: deps.clock.now().toISOString() };
  await deps.tenants.create(tenant, hashApiKey(apiKey));
  return { tenant, apiKey };
};

/** Adds a key to a tenant, for rotation: the old key keeps working until revoked. */
export const rotateApiKey = async (deps: { tenants: TenantStore }, tenantId: string): Promise<string> => {
  const apiKey = generateApiKey();
  await deps.tenants.addApiKey(tenantId, hashApiKey(apiKey));
  return apiKey;
};

/** The tenant an API key belongs to; 401 for a missing or unknown key. */
export const authenticate = async (
  deps: { tenants: TenantStore },
  apiKey: string | undefined,
): Promise<string> => {
  if (!apiKey) throw new UnauthorizedError();
  const tenantId = await deps.tenants.findTenantIdByKeyHash(hashApiKey(apiKey));
  if (!tenantId) throw new UnauthorizedError();
  return tenantId;
};
