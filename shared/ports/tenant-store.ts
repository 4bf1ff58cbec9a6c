import type { Tenant } from '../domain/entities.ts';

/** Tenants and their API keys; keys are only ever handled as SHA-256 hashes. */
export interface TenantStore {
  create(tenant: Tenant, apiKeyHash: string): Promise<void>;
  addApiKey(tenantId: string, apiKeyHash: string): Promise<void>;
  revokeApiKey(apiKeyHash: string): Promise<void>;
  findTenantIdByKeyHash(apiKeyHash: string): Promise<string | undefined>;
  get(tenantId: string): Promise<Tenant | undefined>;
}
