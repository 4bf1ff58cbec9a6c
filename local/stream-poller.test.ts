import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { changeOf } from '#shared/adapters/dynamodb-stream-changes.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { eventsFromChange } from '#shared/domain/webhook-events-from-changes.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { aSession } from '#shared/testing/builders.ts';
import { type StreamPoller, startStreamPoller } from './stream-poller.ts';

let aws: TestAws;
let dynamo: DynamoDBClient;
let streams: DynamoDBStreamsClient;
const pollers: StreamPoller[] = [];
beforeAll(async () => {
  aws = await provisionTestAws();
  dynamo = new DynamoDBClient({ endpoint: aws.env.DYNAMODB_ENDPOINT });
  streams = new DynamoDBStreamsClient({ endpoint: aws.env.DYNAMODB_ENDPOINT });
});
afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  dynamo?.destroy();
  streams?.destroy();
  aws?.destroy();
});

describe('local DynamoDB Streams poller', () => {
  it('hands the sessions stream to the handler as Lambda records with old and new images, and redelivers a failed batch', async () => {
    const batches: DynamoDBStreamEvent[] = [];
    let failFirst = true;
    const poller = await startStreamPoller({
      dynamo,
      streams,
      tableName: aws.env.SESSIONS_TABLE as string,
      idleMs: 50,
      handler: async (event) => {
        batches.push(event);
        if (failFirst) {
          failFirst = false;
          return {
            batchItemFailures: [{ itemIdentifier: event.Records[0]?.dynamodb?.SequenceNumber ?? '' }],
          };
        }
        return { batchItemFailures: [] };
      },
    });
    pollers.push(poller);
    const store = new DynamoSessionStore(
      new DynamoTable(aws.clients.dynamo, aws.env.SESSIONS_TABLE as string),
    );
    const session = aSession({ status: 'CONNECTING' });
    await store.create(session);
    await store.transition(session.sessionId, {
      to: 'QR_READY',
      now: '2026-01-01T12:00:05.000Z',
      fields: { qr: 'qr-string' },
    });

    const events = () =>
      batches.flatMap((b) =>
        b.Records.flatMap((r) => eventsFromChange(changeOf(r) ?? { eventName: 'REMOVE' })),
      );
    // The first batch is reported failed: its records come again, with the same event ids.
    await expect
      .poll(() => events().filter((e) => e.data.status === 'CONNECTING').length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(2);
    await expect
      .poll(() => events().filter((e) => e.data.status === 'QR_READY').length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const qrReady = events().filter((e) => e.data.status === 'QR_READY');
    expect(qrReady[0]?.data).toMatchObject({
      previousStatus: 'CONNECTING',
      qr: 'qr-string',
      chatbotId: 'bot-1',
    });
    const created = events().filter((e) => e.data.status === 'CONNECTING');
    expect(new Set(created.map((e) => e.eventId)).size).toBe(1);
    expect(batches[0]?.Records[0]?.eventSourceARN).toContain(aws.env.SESSIONS_TABLE);
  });
});
