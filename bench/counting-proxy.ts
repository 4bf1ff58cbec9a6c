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

/** Forwards everything to `target` (`http://host:port`), counting as it goes. */
export const startCountingProxy = async (target: string): Promise<CountingProxy> => {
  const counts: Record<string, number> = {};
  const items: Record<string, number> = {};
  const hop = await startHttpHop(target, (req, _res, body, forward) => {
    const amzTarget = String(req.headers['x-amz-target'] ?? '');
    const operation = amzTarget ? (amzTarget.split('.').pop() as string) : (req.method ?? 'GET');
    counts[operation] = (counts[operation] ?? 0) + 1;
    if (ITEM_OPERATIONS.has(operation))
      items[operation] = (items[operation] ?? 0) + itemsOf(operation, body.toString('utf8'));
    forward(body);
  });
  return {
    ...hop,
    counts: () => ({ ...counts }),
    items: () => ({ ...items }),
  };
};
