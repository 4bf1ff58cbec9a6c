import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { provisionTables } from '#local/stand-ins/provision.ts';
import { runAsComponent } from './aws-call-context.ts';
import { addCallRecorder, type RecordedCall } from './aws-call-recorder.ts';

// The recorder on a real SDK client against DynamoDB Local. Its own folder, not the run's: these
// calls are made up and must not reach the run's IAM conformance check.

let dir: string;
let base: DynamoDBClient;
let tables: Record<string, string>;

const recorded = (): RecordedCall[] =>
  readdirSync(dir).flatMap((file) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RecordedCall),
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'recorder-test-'));
  base = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
  tables = await provisionTables(base, `r${randomBytes(4).toString('hex')}`);
});
afterAll(() => {
  base?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('the AWS call recorder', () => {
  it('records a call in a component context, with each transaction item, and ignores calls outside one', async () => {
    const client = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    const doc = DynamoDBDocumentClient.from(client);
    addCallRecorder(client.middlewareStack as never, dir);
    try {
      await runAsComponent('route:SendMessage', async () => {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: tables.MESSAGES_TABLE, Item: { pk: 'MSG#1' } } },
              {
                Update: {
                  TableName: tables.USAGE_TABLE,
                  Key: { pk: 'TENANT#t', sk: 'DAY#2026-12-03' },
                  UpdateExpression: 'ADD messagesOut :one',
                  ExpressionAttributeValues: { ':one': 1 },
                },
              },
            ],
          }),
        );
      });
      await doc.send(new GetCommand({ TableName: tables.MESSAGES_TABLE, Key: { pk: 'MSG#1' } }));
    } finally {
      client.destroy();
    }
    expect(recorded()).toEqual([
      {
        component: 'route:SendMessage',
        service: 'dynamodb',
        operation: 'TransactWriteItems',
        requests: [
          { action: 'dynamodb:PutItem', resource: { table: tables.MESSAGES_TABLE } },
          { action: 'dynamodb:UpdateItem', resource: { table: tables.USAGE_TABLE } },
        ],
      },
    ]);
  });

  it('attributes every call of a client built for a component to it, context or not', async () => {
    const client = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    addCallRecorder(client.middlewareStack as never, dir, 'runner');
    try {
      const doc = DynamoDBDocumentClient.from(client);
      await doc.send(new GetCommand({ TableName: tables.LEASES_TABLE, Key: { pk: 'SHARD#0' } }));
    } finally {
      client.destroy();
    }
    expect(recorded().at(-1)).toEqual({
      component: 'runner',
      service: 'dynamodb',
      operation: 'GetItem',
      requests: [{ action: 'dynamodb:GetItem', resource: { table: tables.LEASES_TABLE } }],
    });
  });
});
