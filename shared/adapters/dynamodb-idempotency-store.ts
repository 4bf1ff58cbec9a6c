import type { IdempotencyRecord } from '../domain/entities.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import { type DynamoTable, entityOf } from './dynamodb-table.ts';

const recordKey = (tenantId: string, key: string) => ({ pk: `IDEMPOTENCY#${tenantId}#${key}` });
const epochSeconds = (iso: string | Date) => Math.floor(new Date(iso).getTime() / 1000);

/** Idempotency keys in the Requests table; DynamoDB's TTL removes them, and a late-deleted one counts as gone. */
export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(private readonly table: DynamoTable) {}

  async get(tenantId: string, key: string, now: Date): Promise<IdempotencyRecord | undefined> {
    const record = entityOf<IdempotencyRecord>(await this.table.get(recordKey(tenantId, key)));
    return record && Date.parse(record.expiresAt) > now.getTime() ? record : undefined;
  }

  claim(record: IdempotencyRecord, now: Date): Promise<boolean> {
    return this.table.put(
      { ...recordKey(record.tenantId, record.key), ttl: epochSeconds(record.expiresAt), ...record },
      {
        ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':now': epochSeconds(now) },
      },
    );
  }

  async release(tenantId: string, key: string): Promise<void> {
    await this.table.delete(recordKey(tenantId, key));
  }
}
