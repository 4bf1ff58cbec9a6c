import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { EVENT_SOURCE_TABLES } from '#shared/adapters/dynamodb-stream-changes.ts';
import {
  commandQueue,
  deadLetterName,
  INCOMING_QUEUE,
  type QueueDefinition,
  WEBHOOK_DELIVERY_QUEUE,
} from '#shared/adapters/queue-definitions.ts';
import { type IndexDefinition, TABLES, type TableDefinition } from '#shared/adapters/table-definitions.ts';

// The tables whose changes become events to tenants stream their items' old and new images.
const STREAMED = new Set<string>(EVENT_SOURCE_TABLES.map((key) => TABLES[key].id));
const STREAM = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } as const;

/** Creates every table of TABLES under `prefix` (idempotent) and returns env key → table name. */
export const provisionTables = async (
  dynamo: DynamoDBClient,
  prefix: string,
): Promise<Record<string, string>> => {
  const env: Record<string, string> = {};
  for (const table of Object.values(TABLES) as TableDefinition[]) {
    const name = `${prefix}-${table.id}`;
    await createTable(dynamo, name, table);
    env[table.envKey] = name;
  }
  return env;
};

const indexSchema = (index: IndexDefinition) => ({
  IndexName: index.name,
  KeySchema: [
    { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
    { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: index.projection ?? 'ALL' },
});

/** Waits until a new index is built: DynamoDB Local fails writes to the table meanwhile. */
const indexesActive = async (dynamo: DynamoDBClient, name: string): Promise<void> => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: name }));
    if ((Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE')) return;
    if (Date.now() > deadline) throw new Error(`the indexes of ${name} are not active after 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const createTable = async (dynamo: DynamoDBClient, name: string, table: TableDefinition): Promise<void> => {
  const attributes = new Set([
    table.partitionKey,
    table.sortKey,
    ...table.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]);
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes]
          .filter((a): a is string => a !== undefined)
          .map((a) => ({ AttributeName: a, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: table.partitionKey, KeyType: 'HASH' },
          ...(table.sortKey ? [{ AttributeName: table.sortKey, KeyType: 'RANGE' as const }] : []),
        ],
        ...(table.indexes.length > 0 && {
          GlobalSecondaryIndexes: table.indexes.map((index) => ({
            ...indexSchema(index),
          })),
        }),
        ...(STREAMED.has(table.id) && { StreamSpecification: STREAM }),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    // Kept from an earlier run, perhaps from before its stream was wanted.
    const kept = await dynamo.send(new DescribeTableCommand({ TableName: name }));
    if (STREAMED.has(table.id) && !kept.Table?.StreamSpecification?.StreamEnabled) {
      await dynamo.send(new UpdateTableCommand({ TableName: name, StreamSpecification: STREAM }));
    }
    // ... or from before one of its indexes (gsi2, the sweeper's) was declared.
    const keptIndexes = new Set(kept.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName));
    for (const index of table.indexes.filter((i) => !keptIndexes.has(i.name))) {
      await dynamo.send(
        new UpdateTableCommand({
          TableName: name,
          AttributeDefinitions: [index.partitionKey, index.sortKey].map((a) => ({
            AttributeName: a,
            AttributeType: 'S',
          })),
          GlobalSecondaryIndexUpdates: [{ Create: indexSchema(index) }],
        }),
      );
      await indexesActive(dynamo, name);
    }
    return;
  }
  if (table.ttlAttribute) {
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
      }),
    );
  }
};

/** Creates a FIFO queue with its dead-letter queue (idempotent) and returns the queue URL. */
export const provisionQueue = async (
  sqs: SQSClient,
  prefix: string,
  queue: QueueDefinition,
): Promise<string> => {
  const fifo = { FifoQueue: 'true', ContentBasedDeduplication: 'false' };
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: `${prefix}${deadLetterName(queue)}.fifo`, Attributes: fifo }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}${queue.name}.fifo`,
      Attributes: {
        ...fifo,
        VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: queue.maxReceiveCount,
        }),
      },
    }),
  );
  if (!created.QueueUrl) throw new Error(`Queue ${queue.name} was not created`);
  return created.QueueUrl;
};

/** Every queue of the system: the command queue of each shard and `incoming`, as env keys. */
export const provisionQueues = async (
  sqs: SQSClient,
  prefix: string,
  shardCount: number,
): Promise<{
  COMMAND_QUEUE_URLS: string;
  INCOMING_QUEUE_URL: string;
  WEBHOOK_DELIVERY_QUEUE_URL: string;
  WEBHOOK_DELIVERY_DLQ_URL: string;
}> => {
  const commandUrls: string[] = [];
  for (let shard = 0; shard < shardCount; shard++) {
    commandUrls.push(await provisionQueue(sqs, prefix, commandQueue(shard)));
  }
  const webhookDlq = `${prefix}${deadLetterName(WEBHOOK_DELIVERY_QUEUE)}.fifo`;
  return {
    COMMAND_QUEUE_URLS: commandUrls.join(','),
    INCOMING_QUEUE_URL: await provisionQueue(sqs, prefix, INCOMING_QUEUE),
    WEBHOOK_DELIVERY_QUEUE_URL: await provisionQueue(sqs, prefix, WEBHOOK_DELIVERY_QUEUE),
    WEBHOOK_DELIVERY_DLQ_URL:
      (await sqs.send(new GetQueueUrlCommand({ QueueName: webhookDlq }))).QueueUrl ?? '',
  };
};
