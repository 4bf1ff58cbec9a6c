import type { UsageDayRecord, UsageDelta, UsageStore } from '../ports/usage-store.ts';
import type { DynamoTable } from './dynamodb-table.ts';

const COUNTERS = ['messagesIn', 'messagesOut', 'aiInputTokens', 'aiOutputTokens'] as const;

export const usageKey = (tenantId: string, date: string) => ({ pk: `TENANT#${tenantId}`, sk: `DAY#${date}` });

/**
 * One use counted against a per-tenant limit on the day item itself (`sendWindow`, `sendCount`):
 * `count` adds to the window already started and refuses to pass the limit; `start` starts a later
 * window at one. Which one applies is only known by trying (a condition each), so callers try both.
 */
export interface WindowUse {
  mode: 'count' | 'start';
  window: number;
  limit: number;
}

/**
 * The update that adds a delta to a tenant's day (`ADD` creates missing counters at zero): used
 * alone by the usage store, and inside the transaction that stores a message with its usage (and,
 * for an API send, its use of the tenant's send rate: `window`).
 */
export const usageIncrement = (tenantId: string, date: string, delta: UsageDelta, window?: WindowUse) => {
  const values: Record<string, unknown> = { ':tenantId': tenantId, ':date': date };
  const names: Record<string, string> = { '#date': 'date' };
  const sets = ['tenantId = :tenantId', '#date = :date'];
  const adds: string[] = [];
  for (const counter of COUNTERS) {
    const amount = delta[counter] ?? 0;
    if (amount === 0) continue;
    adds.push(`${counter} :${counter}`);
    values[`:${counter}`] = amount;
  }
  let condition: string | undefined;
  if (window) {
    Object.assign(names, { '#window': 'sendWindow', '#count': 'sendCount' });
    Object.assign(values, { ':window': window.window, ':one': 1 });
    if (window.mode === 'count') {
      adds.push('#count :one');
      values[':limit'] = window.limit;
      condition = '#window = :window AND #count < :limit';
    } else {
      sets.push('#window = :window', '#count = :one');
      condition = 'attribute_not_exists(#window) OR #window < :window';
    }
  }
  return {
    Key: usageKey(tenantId, date),
    UpdateExpression: `SET ${sets.join(', ')}${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ...(condition && { ConditionExpression: condition }),
  };
};

/** Usage table: `TENANT#<id>` / `DAY#YYYY-MM-DD` with atomic counters. */
export class DynamoUsageStore implements UsageStore {
  constructor(private readonly table: DynamoTable) {}

  async add(tenantId: string, date: string, delta: UsageDelta): Promise<void> {
    const { Key, ...update } = usageIncrement(tenantId, date, delta);
    await this.table.update(Key, { ...update, ReturnValues: 'NONE' });
  }

  async listDays(tenantId: string, from: string, to: string): Promise<UsageDayRecord[]> {
    const items = await this.table.queryAll<Record<string, unknown>>({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': usageKey(tenantId, from).pk,
        ':from': usageKey(tenantId, from).sk,
        ':to': usageKey(tenantId, to).sk,
      },
      ConsistentRead: true,
    });
    return items.map((item) => ({
      date: String(item.date ?? String(item.sk).slice(4)),
      messagesIn: Number(item.messagesIn ?? 0),
      messagesOut: Number(item.messagesOut ?? 0),
      aiInputTokens: Number(item.aiInputTokens ?? 0),
      aiOutputTokens: Number(item.aiOutputTokens ?? 0),
    }));
  }
}
