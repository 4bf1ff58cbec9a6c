import {
  type LimitSpec,
  type RateDecision,
  type RateLimiter,
  retryAfterOf,
  windowOf,
} from '../ports/rate-limiter.ts';
import type { DynamoTable } from './dynamodb-table.ts';

export interface DynamoLimitOptions extends LimitSpec {
  /** The one item that counts a tenant's use: it is reused from window to window. */
  key: (tenantId: string) => Record<string, string>;
}

const NAMES = { '#count': 'count', '#window': 'window' };

/**
 * A per-tenant limit on one counter item, in any table the caller may write (the route or worker
 * that counts needs no other grant): an atomic count within the current window that refuses to
 * pass the limit, and a conditional reset when a later window starts. One item per tenant, so
 * nothing piles up; a windowed item also carries a TTL, for tables that expire items.
 */
export class DynamoRateLimiter implements RateLimiter {
  private readonly options: DynamoLimitOptions;

  /** `perMinute` alone: the API's send rate, counted in the Requests table. */
  constructor(
    private readonly table: DynamoTable,
    options: number | DynamoLimitOptions,
  ) {
    this.options =
      typeof options === 'number'
        ? { limit: options, windowSeconds: 60, key: (tenantId) => ({ pk: `RATE#send#${tenantId}` }) }
        : options;
  }

  async consume(tenantId: string, now: Date): Promise<RateDecision> {
    const { windowSeconds, key } = this.options;
    const window = windowOf(this.options, now);
    if (await this.countInWindow(tenantId, window)) return { allowed: true, retryAfterSeconds: 0 };
    // The first use, or the first of a later window: start counting again at one.
    const ttl = windowSeconds ? { ':ttl': (window + 2) * windowSeconds } : undefined;
    const restarted = await this.table.update(key(tenantId), {
      UpdateExpression: `SET #window = :w, #count = :one${ttl ? ', #ttl = :ttl' : ''}`,
      ConditionExpression: 'attribute_not_exists(#window) OR #window < :w',
      ExpressionAttributeNames: { ...NAMES, ...(ttl && { '#ttl': 'ttl' }) },
      ExpressionAttributeValues: { ':one': 1, ':w': window, ...ttl },
    });
    // A concurrent caller may have started the window meanwhile: count in it.
    if (restarted || (await this.countInWindow(tenantId, window)))
      return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: retryAfterOf(this.options, now) };
  }

  private async countInWindow(tenantId: string, window: number): Promise<boolean> {
    const counted = await this.table.update(this.options.key(tenantId), {
      UpdateExpression: 'ADD #count :one',
      ConditionExpression: '#window = :w AND #count < :limit',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':one': 1, ':w': window, ':limit': this.options.limit },
    });
    return counted !== undefined;
  }

  async release(tenantId: string, now: Date): Promise<void> {
    await this.table.update(this.options.key(tenantId), {
      UpdateExpression: 'ADD #count :minus',
      ConditionExpression: '#window = :w AND #count > :zero',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':minus': -1, ':w': windowOf(this.options, now), ':zero': 0 },
    });
  }
}
