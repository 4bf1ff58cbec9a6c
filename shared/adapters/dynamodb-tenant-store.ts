import type { Tenant } from '../domain/entities.ts';
import type { TenantStore } from '../ports/tenant-store.ts';
import { type DynamoTable, entityOf } from './dynamodb-table.ts';

const tenantKey = (tenantId: string) => ({ pk: `TENANT#${tenantId}` });
const apiKeyKey = (hash: string) => ({ pk: `APIKEY#${hash}` });
const NEW = { ConditionExpression: 'attribute_not_exists(pk)' };

export class DynamoTenantStore implements TenantStore {
  constructor(private readonly table: DynamoTable) {}

  async create(tenant: Tenant, apiKeyHash: string): Promise<void> {
    if (!(await this.table.put({ ...tenantKey(tenant.tenantId), ...tenant }, NEW))) {
      throw new Error('Tenant id collision');
    }
    await this.addApiKey(tenant.tenantId, apiKeyHash);
  }

  async addApiKey(tenantId: string, apiKeyHash: string): Promise<void> {
    const item = { ...apiKeyKey(apiKeyHash), tenantId, createdAt: new Date().toISOString() };
    if (!(await this.table.put(item, NEW))) throw new Error('API key hash collision');
  }

  async revokeApiKey(apiKeyHash: string): Promise<void> {
    await this.table.delete(apiKeyKey(apiKeyHash));
  }

  async findTenantIdByKeyHash(apiKeyHash: string): Promise<string | undefined> {
    return (await this.table.get<{ tenantId: string }>(apiKeyKey(apiKeyHash)))?.tenantId;
  }

  async get(tenantId: string): Promise<Tenant | undefined> {
    return entityOf<Tenant>(await this.table.get(tenantKey(tenantId)));
  }
}
