import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  const upstream = new URL(target);
  const counts: Record<string, number> = {};
  const items: Record<string, number> = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = String(req.headers['x-amz-target'] ?? '');
      const operation = amzTarget ? (amzTarget.split('.').pop() as string) : (req.method ?? 'GET');
      counts[operation] = (counts[operation] ?? 0) + 1;
      if (ITEM_OPERATIONS.has(operation))
        items[operation] = (items[operation] ?? 0) + itemsOf(operation, body.toString('utf8'));
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      res.on('close', () => forward.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ ...counts }),
    items: () => ({ ...items }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
