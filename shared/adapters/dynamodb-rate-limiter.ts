import type { RateDecision, RateLimiter } from '../ports/rate-limiter.ts';
import type { DynamoTable } from './dynamodb-table.ts';

/** A fixed one-minute window per tenant: an atomic counter that refuses to pass the limit. */
export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly table: DynamoTable,
    private readonly perMinute: number,
  ) {}

  async consume(tenantId: string, now: Date): Promise<RateDecision> {
    const window = Math.floor(now.getTime() / 60_000);
    const updated = await this.table.update(
      { pk: `RATE#${tenantId}#${window}` },
      {
        UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':one': 1, ':limit': this.perMinute, ':ttl': (window + 2) * 60 },
      },
    );
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * 60_000 - now.getTime()) / 1000));
    return updated ? { allowed: true, retryAfterSeconds: 0 } : { allowed: false, retryAfterSeconds };
  }
}
