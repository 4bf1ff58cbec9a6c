import { randomBytes } from 'node:crypto';
import type { Tenant } from '../domain/entities.ts';
import { hashApiKey, newId } from '../domain/ids.ts';
import { NotFoundError, UnauthorizedError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { ApiKeyListing, StoredApiKey, TenantStore } from '../ports/tenant-store.ts';

/** A new random API key: only its hash is stored, so it is shown once. */
export const generateApiKey = (): string => `wqg_${randomBytes(24).toString('base64url')}`;

/**
 * The part of a key kept to recognise it in a listing: 12 characters of a generated key (`wqg_` and
 * 48 of its 192 random bits), and never more than a third of a key chosen by hand (DEV_API_KEY).
 */
export const keyPrefixOf = (apiKey: string): string =>
  apiKey.slice(0, Math.min(12, Math.floor(apiKey.length / 3)));

const storedKey = (tenantId: string, apiKey: string, now: Date): StoredApiKey => ({
  hash: hashApiKey(apiKey),
  tenantId,
  prefix: keyPrefixOf(apiKey),
  createdAt: now.toISOString(),
});

const tenantNotFound = (tenantId: string) =>
  new NotFoundError('TENANT_NOT_FOUND', `No tenant ${JSON.stringify(tenantId)}`);

/** Creates a tenant with a fresh API key (or the given one) and returns the key in clear, once. */
export const createTenant = async (
  deps: { tenants: TenantStore; clock: Clock },
  name: string,
  apiKey: string = generateApiKey(),
): Promise<{ tenant: Tenant; apiKey: string }> => {
  const now = deps.clock.now();
  const tenant: Tenant = { tenantId: newId(), name, createdAt: now.toISOString() };
  await deps.tenants.create(tenant, storedKey(tenant.tenantId, apiKey, now));
  return { tenant, apiKey };
};

/**
 * Adds a key to an existing tenant, for rotation: the old key keeps working until revoked.
 * Throws TENANT_NOT_FOUND for an unknown tenant (a key of nobody must never be made).
 */
export const rotateApiKey = async (
  deps: { tenants: TenantStore; clock: Clock },
  tenantId: string,
): Promise<string> => {
  if (!(await deps.tenants.get(tenantId))) throw tenantNotFound(tenantId);
  const apiKey = generateApiKey();
  await deps.tenants.addApiKey(storedKey(tenantId, apiKey, deps.clock.now()));
  return apiKey;
};

/** Revokes a key at once; throws API_KEY_NOT_FOUND when no such key exists (a typo must not look revoked). */
export const revokeApiKey = async (deps: { tenants: TenantStore }, apiKey: string): Promise<void> => {
  if (!(await deps.tenants.revokeApiKey(hashApiKey(apiKey)))) {
    throw new NotFoundError('API_KEY_NOT_FOUND', 'No such API key (nothing was revoked)');
  }
};

/** A tenant's keys as prefixes and creation dates; throws TENANT_NOT_FOUND for an unknown tenant. */
export const listApiKeys = async (
  deps: { tenants: TenantStore },
  tenantId: string,
): Promise<ApiKeyListing[]> => {
  if (!(await deps.tenants.get(tenantId))) throw tenantNotFound(tenantId);
  return deps.tenants.listApiKeys(tenantId);
};

/** Disables (every key answers 401 from the next request on) or enables a tenant. */
export const setTenantDisabled = async (
  deps: { tenants: TenantStore; clock: Clock },
  tenantId: string,
  disabled: boolean,
): Promise<Tenant> => {
  const tenant = await deps.tenants.setDisabled(tenantId, disabled, deps.clock.now().toISOString());
  if (!tenant) throw tenantNotFound(tenantId);
  return tenant;
};

/** The tenant an API key belongs to; 401 for a missing or unknown key, and for a disabled tenant's key. */
export const authenticate = async (
  deps: { tenants: TenantStore },
  apiKey: string | undefined,
): Promise<string> => {
  if (!apiKey) throw new UnauthorizedError();
  const tenantId = await deps.tenants.findTenantIdByKeyHash(hashApiKey(apiKey));
  if (!tenantId) throw new UnauthorizedError();
  // Read on every request (the authorizer has no cache), so disabling takes effect at once.
  const tenant = await deps.tenants.get(tenantId);
  if (!tenant || tenant.disabled) throw new UnauthorizedError();
  return tenantId;
};
