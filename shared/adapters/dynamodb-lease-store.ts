import type { Lease, LeaseStore } from '../ports/lease-store.ts';
import type { DynamoTable } from './dynamodb-table.ts';

const leaseKey = (shard: number) => ({ pk: `SHARD#${shard}` });
const toLease = (item: Record<string, unknown> | undefined): Lease | undefined =>
  item && {
    shard: item.shard as number,
    owner: item.owner as string,
    fence: item.fence as number,
    expiresAt: item.expiresAt as number,
  };

/** Leases as conditional writes on one item per shard; the fence is an atomic counter on that item. */
export class DynamoLeaseStore implements LeaseStore {
  constructor(private readonly table: DynamoTable) {}

  async acquire(shard: number, owner: string, now: number, durationMs: number): Promise<Lease | undefined> {
    return toLease(
      await this.table.update(leaseKey(shard), {
        UpdateExpression: 'SET #owner = :owner, expiresAt = :exp, #shard = :shard ADD fence :one',
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
        ExpressionAttributeNames: { '#owner': 'owner', '#shard': 'shard' },
        ExpressionAttributeValues: {
          ':owner': owner,
          ':exp': now + durationMs,
          ':shard': shard,
          ':one': 1,
          ':now': now,
        },
      }),
    );
  }

  async renew(lease: Lease, now: number, durationMs: number): Promise<Lease | undefined> {
    return toLease(
      await this.table.update(leaseKey(lease.shard), {
        UpdateExpression: 'SET expiresAt = :exp',
        ConditionExpression: '#owner = :owner AND fence = :fence AND expiresAt > :now',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':owner': lease.owner,
          ':fence': lease.fence,
          ':exp': now + durationMs,
          ':now': now,
        },
      }),
    );
  }

  async release(lease: Lease): Promise<void> {
    await this.table.update(leaseKey(lease.shard), {
      UpdateExpression: 'SET expiresAt = :zero',
      ConditionExpression: '#owner = :owner AND fence = :fence',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': lease.owner, ':fence': lease.fence, ':zero': 0 },
    });
  }

  async get(shard: number): Promise<Lease | undefined> {
    return toLease(await this.table.get(leaseKey(shard)));
  }
}
