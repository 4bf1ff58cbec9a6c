import type { Tenant } from '../domain/entities.ts';

/** What is kept of an API key: its hash (the lookup key), a short prefix to recognise it, and when it was made. */
export interface StoredApiKey {
  hash: string;
  tenantId: string;
  /** The first characters of the key, never enough to use it; `undefined` for keys stored before prefixes. */
  prefix?: string;
  createdAt: string;
}

/** A key as listed to an operator: never the key, never its hash. */
export type ApiKeyListing = Pick<StoredApiKey, 'prefix' | 'createdAt'>;

/** Tenants and their API keys; keys are only ever handled as SHA-256 hashes. */
export interface TenantStore {
  create(tenant: Tenant, key: StoredApiKey): Promise<void>;
  /** Stores a key; throws when its hash exists. Whether the tenant exists is the caller's check. */
  addApiKey(key: StoredApiKey): Promise<void>;
  /** Deletes the key; false when no such key existed. */
  revokeApiKey(apiKeyHash: string): Promise<boolean>;
  findTenantIdByKeyHash(apiKeyHash: string): Promise<string | undefined>;
  get(tenantId: string): Promise<Tenant | undefined>;
  /** Every tenant, by creation time (an operator's listing: a scan in DynamoDB, never on a request path). */
  list(): Promise<Tenant[]>;
  /** The keys of a tenant, oldest first (an operator's listing, like `list`). */
  listApiKeys(tenantId: string): Promise<ApiKeyListing[]>;
  /** Disables or enables an existing tenant; undefined when there is no such tenant. */
  setDisabled(tenantId: string, disabled: boolean, now: string): Promise<Tenant | undefined>;
}
