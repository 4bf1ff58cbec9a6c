import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { TABLES } from '#shared/adapters/table-definitions.ts';
import { aMessage } from '#shared/testing/builders.ts';
import { startDynamoDbLocal } from './dynamodb-local.ts';
import { provisionTables } from './provision.ts';

// A local stack keeps its tables across restarts (DynamoDB Local with -dbPath): provisioning must
// bring a table from an earlier version up to the current definition, not only create new ones.

// Its own DynamoDB Local: the run's shared instance, busy with every other file's tables, can take
// minutes to build an index added to an existing table (seen in CI), while a quiet one takes a second.
let local: Awaited<ReturnType<typeof startDynamoDbLocal>>;
let dynamo: DynamoDBClient;
let clients: ReturnType<typeof createAwsClients>;
beforeAll(async () => {
  local = await startDynamoDbLocal();
  dynamo = new DynamoDBClient({ endpoint: local.endpoint });
  clients = createAwsClients({ DYNAMODB_ENDPOINT: local.endpoint });
}, 60_000);
afterAll(async () => {
  dynamo?.destroy();
  clients?.dynamo.destroy();
  clients?.sqs.destroy();
  clients?.s3.destroy();
  await local?.stop();
});

describe('provisionTables', () => {
  it('adds an index declared since the table was created (the Messages table without gsi2)', async () => {
    const prefix = `p${randomBytes(4).toString('hex')}`;
    const name = `${prefix}-${TABLES.messages.id}`;
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['pk', 'gsi1pk', 'gsi1sk'].map((a) => ({
          AttributeName: a,
          AttributeType: 'S',
        })),
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    const env = await provisionTables(dynamo, prefix);
    expect(env.MESSAGES_TABLE).toBe(name);
    const described = await dynamo.send(new DescribeTableCommand({ TableName: name }));
    const indexes = described.Table?.GlobalSecondaryIndexes ?? [];
    expect(indexes.map((i) => i.IndexName).sort()).toEqual(['gsi1', 'gsi2', 'gsi3']);
    // Built before provisioning returns: DynamoDB Local fails writes while an index is created.
    expect(indexes.map((i) => i.IndexStatus)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    // gsi3 (sends by WhatsApp id) holds keys only, as declared.
    expect(indexes.find((i) => i.IndexName === 'gsi3')?.Projection?.ProjectionType).toBe('KEYS_ONLY');
    // And the sweeper's query works on it.
    const messages = new DynamoMessageStore(new DynamoTable(clients.dynamo, name));
    const message = aMessage();
    await messages.putIfAbsent(message);
    const queued = await messages.listQueued(message.sessionId, { createdBefore: '2099', limit: 10 });
    expect(queued.map((q) => q.message.messageId)).toEqual([message.messageId]);
    // Provisioning again changes nothing.
    await provisionTables(dynamo, prefix);
    // DynamoDB Local builds a new index slowly when the shared instance is busy: provisioning
    // waits up to 60 s for it, so the test may too.
  }, 90_000);
});
