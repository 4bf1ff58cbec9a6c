import type { UsageDayRecord, UsageDelta, UsageStore } from '../ports/usage-store.ts';
import type { DynamoTable } from './dynamodb-table.ts';

const COUNTERS = ['messagesIn', 'messagesOut', 'aiInputTokens', 'aiOutputTokens'] as const;

export const usageKey = (tenantId: string, date: string) => ({ pk: `TENANT#${tenantId}`, sk: `DAY#${date}` });

/**
 * The update that adds a delta to a tenant's day (`ADD` creates missing counters at zero): used
 * alone by the usage store, and inside the transaction that stores a message with its usage.
 */
export const usageIncrement = (tenantId: string, date: string, delta: UsageDelta) => {
  const values: Record<string, unknown> = { ':tenantId': tenantId, ':date': date };
  const adds: string[] = [];
  for (const counter of COUNTERS) {
    const amount = delta[counter] ?? 0;
    if (amount === 0) continue;
    adds.push(`${counter} :${counter}`);
    values[`:${counter}`] = amount;
  }
  return {
    Key: usageKey(tenantId, date),
    UpdateExpression: `SET tenantId = :tenantId, #date = :date${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
    ExpressionAttributeNames: { '#date': 'date' },
    ExpressionAttributeValues: values,
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
