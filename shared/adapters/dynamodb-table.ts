import {
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { guard, isConditionFailure } from './aws-errors.ts';

type Item = Record<string, unknown>;
type Key = Record<string, string>;
type Without<T, K extends keyof T> = Omit<T, K | 'TableName'>;

/**
 * One DynamoDB table: every call goes through `guard` (a DynamoDB outage becomes a 503), and
 * conditional writes answer false instead of throwing when their condition fails.
 */
export class DynamoTable {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get<T = Item>(key: Key): Promise<T | undefined> {
    const out = await guard('dynamodb', () =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return out.Item as T | undefined;
  }

  /** Puts the item; false when the condition failed. */
  async put(item: Item, options: Without<PutCommandInput, 'Item'> = {}): Promise<boolean> {
    return this.conditional(() =>
      this.client.send(new PutCommand({ ...options, TableName: this.tableName, Item: item })),
    );
  }

  /** Updates and returns the new item; undefined when the condition failed. */
  async update<T = Item>(key: Key, options: Without<UpdateCommandInput, 'Key'>): Promise<T | undefined> {
    let attributes: T | undefined;
    const ok = await this.conditional(async () => {
      const out = await this.client.send(
        new UpdateCommand({ ReturnValues: 'ALL_NEW', ...options, TableName: this.tableName, Key: key }),
      );
      attributes = out.Attributes as T | undefined;
    });
    return ok ? attributes : undefined;
  }

  async delete(key: Key, options: Without<DeleteCommandInput, 'Key'> = {}): Promise<boolean> {
    return this.conditional(() =>
      this.client.send(new DeleteCommand({ ...options, TableName: this.tableName, Key: key })),
    );
  }

  async query<T = Item>(
    options: Without<QueryCommandInput, never>,
  ): Promise<{ items: T[]; lastKey?: Record<string, unknown> }> {
    const out = await guard('dynamodb', () =>
      this.client.send(new QueryCommand({ ...options, TableName: this.tableName })),
    );
    return {
      items: (out.Items ?? []) as T[],
      ...(out.LastEvaluatedKey && { lastKey: out.LastEvaluatedKey }),
    };
  }

  /** Every item of a query, following pages. */
  async queryAll<T = Item>(options: Without<QueryCommandInput, 'ExclusiveStartKey'>): Promise<T[]> {
    const items: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.query<T>({ ...options, ...(start && { ExclusiveStartKey: start }) });
      items.push(...page.items);
      start = page.lastKey;
    } while (start);
    return items;
  }

  /** Every item a scan finds, following pages: for operator tools only, never on a request path. */
  async scanAll<T = Item>(options: Without<ScanCommandInput, 'ExclusiveStartKey'> = {}): Promise<T[]> {
    const items: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await guard('dynamodb', () =>
        this.client.send(
          new ScanCommand({
            ...options,
            TableName: this.tableName,
            ...(start && { ExclusiveStartKey: start }),
          }),
        ),
      );
      items.push(...((out.Items ?? []) as T[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private async conditional(call: () => Promise<unknown>): Promise<boolean> {
    try {
      await guard('dynamodb', call);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/** Strips the storage keys (pk, sk, gsi1/gsi2 keys, ttl) from an item, leaving the entity. */
export const entityOf = <T>(item: Item | undefined): T | undefined => {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, gsi2pk: _g3, gsi2sk: _g4, ttl: _ttl, ...entity } = item;
  return entity as T;
};

/** Builds `SET a = :a, b = :b` / `REMOVE c` parts for the defined and null fields of a patch. */
export const updateExpression = (
  patch: Record<string, unknown>,
  prefix = 'f',
): { set: string[]; remove: string[]; names: Record<string, string>; values: Record<string, unknown> } => {
  const set: string[] = [];
  const remove: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  Object.entries(patch).forEach(([field, value], i) => {
    if (value === undefined) return;
    names[`#${prefix}${i}`] = field;
    if (value === null) {
      remove.push(`#${prefix}${i}`);
    } else {
      set.push(`#${prefix}${i} = :${prefix}${i}`);
      values[`:${prefix}${i}`] = value;
    }
  });
  return { set, remove, names, values };
};
