import { startHttpHop } from '../faults/http-hop.ts';

/**
 * An HTTP hop in front of a stand-in that counts the AWS requests passing through by operation:
 * DynamoDB and SQS by their JSON protocol's `X-Amz-Target` (`DynamoDB_20120810.PutItem` → `PutItem`),
 * S3 by method (`PUT`, `GET`, …). DynamoDB transactions and batches also count their items, for the
 * price in request units.
 */
export interface CountingProxy {
  endpoint: string;
  /** Requests per operation since the start. */
  counts(): Record<string, number>;
  /** Items of TransactWriteItems / TransactGetItems / BatchWriteItem / BatchGetItem per operation. */
  items(): Record<string, number>;
  /**
   * Requests per operation and what they touched, for reading which call is which: DynamoDB
   * `UpdateItem Messages MESSAGE#` (table, key prefix; a transaction lists its items), S3
   * `PUT *-k.json` (the object name without its digits).
   */
  details(): Record<string, number>;
  close(): Promise<void>;
}

const ITEM_OPERATIONS = new Set(['TransactWriteItems', 'TransactGetItems', 'BatchWriteItem', 'BatchGetItem']);

/** Items a multi-item DynamoDB request carries (1 for any other request). */
export const itemsOf = (operation: string, body: string): number => {
  if (!ITEM_OPERATIONS.has(operation) || !body) return 1;
  const input = JSON.parse(body) as {
    TransactItems?: unknown[];
    RequestItems?: Record<string, unknown[] | { Keys?: unknown[] }>;
  };
  if (input.TransactItems) return input.TransactItems.length;
  return Object.values(input.RequestItems ?? {}).reduce<number>(
    (n, v) => n + (Array.isArray(v) ? v.length : (v.Keys?.length ?? 0)),
    0,
  );
};

type Wire = {
  TableName?: string;
  IndexName?: string;
  Key?: Wire['Item'];
  Item?: Record<string, { S?: string }>;
};

/** `Messages MESSAGE#` from a wire request: the table's last name part and the pk up to its first `#`. */
const targetOf = (input: Wire): string => {
  const table = String(input.TableName ?? '?')
    .split(/[-_]/)
    .pop();
  const pk = (input.Key ?? input.Item)?.pk?.S;
  const index = input.IndexName ? `/${input.IndexName}` : '';
  return `${table}${index}${pk ? ` ${pk.split('#')[0]}#` : ''}`;
};

/** What a DynamoDB request touched, as a label (`TransactWriteItems Put Messages MESSAGE# + …`). */
export const detailOf = (operation: string, body: string): string => {
  if (!body) return operation;
  const input = JSON.parse(body) as Wire & { TransactItems?: Record<string, Wire>[] };
  if (input.TransactItems)
    return `${operation} ${input.TransactItems.map((t) =>
      Object.entries(t)
        .map(([kind, item]) => `${kind} ${targetOf(item)}`)
        .join(''),
    ).join(' + ')}`;
  return `${operation} ${targetOf(input)}`;
};

/** The Signal key types an auth-state journal entry carries (` session, sender-key`), if it is one. */
const journalKeysOf = (operation: string, body: Buffer): string => {
  if (operation !== 'PUT' || body.length === 0 || body[0] !== 0x7b) return '';
  const entry = JSON.parse(body.toString('utf8')) as { kind?: string; keys?: Record<string, object> };
  if (entry.kind !== 'keys' || !entry.keys) return '';
  return ` ${Object.entries(entry.keys)
    .map(([type, ids]) => `${type}×${Object.keys(ids).length}`)
    .join(', ')}`;
};

/** Forwards everything to `target` (`http://host:port`), counting as it goes. */
export const startCountingProxy = async (target: string): Promise<CountingProxy> => {
  const counts: Record<string, number> = {};
  const items: Record<string, number> = {};
  const details: Record<string, number> = {};
  const hop = await startHttpHop(target, (req, _res, body, forward) => {
    const amzTarget = String(req.headers['x-amz-target'] ?? '');
    const operation = amzTarget ? (amzTarget.split('.').pop() as string) : (req.method ?? 'GET');
    counts[operation] = (counts[operation] ?? 0) + 1;
    if (ITEM_OPERATIONS.has(operation))
      items[operation] = (items[operation] ?? 0) + itemsOf(operation, body.toString('utf8'));
    let detail = operation;
    try {
      detail = amzTarget.startsWith('DynamoDB')
        ? detailOf(operation, body.toString('utf8'))
        : amzTarget
          ? operation
          : `${operation} ${String(req.url ?? '')
              .split('?')[0]
              ?.split('/')
              .pop()
              ?.replace(/[0-9a-f]{8,}|\d+/g, '*')}${journalKeysOf(operation, body)}`;
    } catch {
      // An unreadable body is still counted by its operation.
    }
    details[detail] = (details[detail] ?? 0) + 1;
    forward(body);
  });
  return {
    ...hop,
    counts: () => ({ ...counts }),
    items: () => ({ ...items }),
    details: () => ({ ...details }),
  };
};
