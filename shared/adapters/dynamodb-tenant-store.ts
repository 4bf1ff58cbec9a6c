import type { Tenant } from '../domain/entities.ts';
import type { ApiKeyListing, StoredApiKey, TenantStore } from '../ports/tenant-store.ts';
import { type DynamoTable, entityOf } from './dynamodb-table.ts';

const TENANT = 'TENANT#';
const APIKEY = 'APIKEY#';
const tenantKey = (tenantId: string) => ({ pk: `${TENANT}${tenantId}` });
const apiKeyKey = (hash: string) => ({ pk: `${APIKEY}${hash}` });
const NEW = { ConditionExpression: 'attribute_not_exists(pk)' };
const byCreation = (a: { createdAt: string }, b: { createdAt: string }) =>
  a.createdAt.localeCompare(b.createdAt);

/**
 * Tenants (`TENANT#id`) and key hashes (`APIKEY#sha256` → tenantId) in one table keyed by `pk`
 * only: the request path reads single items; the operator's listings scan (a small table).
 */
export class DynamoTenantStore implements TenantStore {
  constructor(private readonly table: DynamoTable) {}

  async create(tenant: Tenant, key: StoredApiKey): Promise<void> {
    if (!(await this.table.put({ ...tenantKey(tenant.tenantId), ...tenant }, NEW))) {
      throw new Error('Tenant id collision');
    }
    await this.addApiKey(key);
  }

  async addApiKey(key: StoredApiKey): Promise<void> {
    const item = {
      ...apiKeyKey(key.hash),
      tenantId: key.tenantId,
      createdAt: key.createdAt,
      ...(key.prefix && { prefix: key.prefix }),
    };
    if (!(await this.table.put(item, NEW))) throw new Error('API key hash collision');
  }

  revokeApiKey(apiKeyHash: string): Promise<boolean> {
    return this.table.delete(apiKeyKey(apiKeyHash), { ConditionExpression: 'attribute_exists(pk)' });
  }

  async findTenantIdByKeyHash(apiKeyHash: string): Promise<string | undefined> {
    return (await this.table.get<{ tenantId: string }>(apiKeyKey(apiKeyHash)))?.tenantId;
  }

  async get(tenantId: string): Promise<Tenant | undefined> {
    return entityOf<Tenant>(await this.table.get(tenantKey(tenantId)));
  }

  async list(): Promise<Tenant[]> {
    const items = await this.table.scanAll({
      FilterExpression: 'begins_with(pk, :p)',
      ExpressionAttributeValues: { ':p': TENANT },
    });
    return items.map((item) => entityOf<Tenant>(item) as Tenant).sort(byCreation);
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyListing[]> {
    const items = await this.table.scanAll<{ prefix?: string; createdAt: string }>({
      FilterExpression: 'begins_with(pk, :p) AND tenantId = :t',
      ExpressionAttributeValues: { ':p': APIKEY, ':t': tenantId },
    });
    return items.map((item) => ({ prefix: item.prefix, createdAt: item.createdAt })).sort(byCreation);
  }

  async setDisabled(tenantId: string, disabled: boolean, now: string): Promise<Tenant | undefined> {
    return entityOf<Tenant>(
      await this.table.update(tenantKey(tenantId), {
        UpdateExpression: 'SET disabled = :d, updatedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':d': disabled, ':now': now },
      }),
    );
  }
}
