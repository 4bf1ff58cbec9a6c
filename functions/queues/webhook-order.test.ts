import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { AttributeValue, DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeWebhookSender } from '#shared/adapters/node-webhook-sender.ts';
import { deliveryGroupId, SqsWebhookJobQueue } from '#shared/adapters/sqs-webhook-job-queue.ts';
import type { WebhookDeliveryJob } from '#shared/contracts/webhook-events.ts';
import type { WebhookJobControl, WebhookJobQueue } from '#shared/ports/webhook-delivery.ts';
import { aSession } from '#shared/testing/builders.ts';
import { FakeClock } from '#shared/testing/fakes.ts';
import { InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import {
  InMemoryDeliveryLog,
  InMemoryWebhookEndpointStore,
  RecordingJobControl,
  RecordingWebhookJobQueue,
} from '#shared/testing/in-memory-webhook-stores.ts';
import { type SqsFifoDouble, startSqsFifoDouble } from '#shared/testing/sqs-fifo-double.ts';
import type { DeliveryHandlerDeps } from './webhook-composition-root.ts';
import { createDeliveryHandler } from './webhook-delivery.ts';
import { createFanoutHandler } from './webhook-fanout.ts';

// Per endpoint and session, events reach the receiver in the order they happened (their
// `timestamp`), though the fan-out sees the changes of different items out of that order (two
// table streams) or SQS queues a refused batch entry after the later ones of its group.

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const SESSION_A = '8a1f7c2e-6d3b-4f4e-9a0b-1c2d3e4f5a6b';
const SESSION_B = '1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b';

interface Received {
  webhookId: string;
  status: number;
  type: string;
  sessionId: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A loopback receiver answering `answer(body)` (204 unless told); it records every request. */
const startReceiver = async (answer: (body: { type: string; data: { sessionId: string } }) => number) => {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const body = JSON.parse(text) as { type: string; data: { sessionId: string } };
      const status = answer(body);
      received.push({
        webhookId: String(req.headers['webhook-id']),
        status,
        type: body.type,
        sessionId: body.data.sessionId,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
};

const image = (item: Record<string, unknown>): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, { S: String(v) }]));

let sequence = 100;
const streamRecord = (
  newItem: Record<string, unknown>,
  oldItem?: Record<string, unknown>,
): DynamoDBRecord => ({
  eventName: oldItem ? 'MODIFY' : 'INSERT',
  eventSource: 'aws:dynamodb',
  dynamodb: {
    Keys: { pk: { S: String(newItem.pk) } },
    NewImage: image(newItem),
    ...(oldItem && { OldImage: image(oldItem) }),
    SequenceNumber: String(++sequence),
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
});

/** A session's change to CONNECTED at `at` (the sessions table's stream). */
const connected = (sessionId: string, at: string) => {
  const item = { pk: `SESSION#${sessionId}`, sessionId, tenantId: 'tenant-a', chatbotId: 'bot-1' };
  return streamRecord(
    { ...item, status: 'CONNECTED', updatedAt: at },
    { ...item, status: 'QR_READY', updatedAt: '2026-01-01T00:00:00.000Z' },
  );
};

/** An inbound message stored at `at` (the messages table's stream). */
const inbound = (sessionId: string, at: string) =>
  streamRecord({
    pk: `MESSAGE#in-${sessionId}`,
    messageId: `in-${sessionId}`,
    tenantId: 'tenant-a',
    sessionId,
    conversationId: 'conv-1',
    direction: 'in',
    from: '15550001111@s.whatsapp.net',
    text: 'hello',
    status: 'DELIVERED',
    waMessageId: `WA-IN-${sessionId}`,
    createdAt: at,
    updatedAt: at,
  });

const recordOf = (job: WebhookDeliveryJob, receive = 1): SQSRecord =>
  ({
    messageId: `sqs-${job.eventId}`,
    receiptHandle: `rh-${job.eventId}-${receive}`,
    body: JSON.stringify(job),
    attributes: { ApproximateReceiveCount: String(receive), MessageGroupId: deliveryGroupId(job) },
  }) as unknown as SQSRecord;

/** The fan-out and the delivery on in-memory stores, one endpoint at `url`, the given queue. */
const pipeline = async <Q extends WebhookJobQueue>(
  url: string,
  options: { jobs: Q; control?: WebhookJobControl; clock?: FakeClock; settleMs?: number },
) => {
  const clock = options.clock ?? new FakeClock(new Date());
  const endpoints = new InMemoryWebhookEndpointStore();
  await endpoints.create({
    webhookId: 'wh_1',
    tenantId: 'tenant-a',
    url,
    events: ['session.status', 'message.received'],
    secret: SECRET,
    createdAt: clock.now().toISOString(),
  });
  const deliveries = new InMemoryDeliveryLog();
  const sessions = new InMemorySessionStore();
  for (const sessionId of [SESSION_A, SESSION_B])
    await sessions.create(aSession({ sessionId, tenantId: 'tenant-a', chatbotId: 'bot-1' }));
  const sleeps: number[] = [];
  let duringSleep: (() => Promise<void>) | undefined;
  const control = options.control ?? new RecordingJobControl();
  const deps: DeliveryHandlerDeps = {
    endpoints,
    deliveries,
    control,
    resolver: { resolve: async () => [] },
    clock,
    sender: new NodeWebhookSender(),
    urlOptions: { allowLoopback: true },
    random: () => 0.5,
    settleMs: options.settleMs ?? 2_000,
    // The settle window on the fake clock; what the test runs "meanwhile" happens during it.
    sleep: async (ms) => {
      sleeps.push(ms);
      const meanwhile = duringSleep;
      duringSleep = undefined;
      await meanwhile?.();
      clock.advance(ms);
    },
  };
  return {
    clock,
    deliveries,
    control,
    sleeps,
    jobs: options.jobs,
    meanwhile: (work: () => Promise<void>) => {
      duringSleep = work;
    },
    fanout: createFanoutHandler(() => ({ endpoints, deliveries, sessions, jobs: options.jobs, clock })),
    deliver: createDeliveryHandler(() => deps),
  };
};

const iso = (ms: number) => new Date(ms).toISOString();

describe('webhook order per endpoint and session', () => {
  it('delivers an older session.status that the fan-out saw after a younger message.received first, within the settle window', async () => {
    const receiver = await startReceiver(() => 204);
    const t0 = Date.now();
    const p = await pipeline(receiver.url, {
      jobs: new RecordingWebhookJobQueue(),
      clock: new FakeClock(new Date(t0 + 1_000)),
    });
    // The messages stream hands over the message (at t0 + 300 ms) before the sessions stream hands
    // over the status change that happened before it (at t0).
    await p.fanout({ Records: [inbound(SESSION_A, iso(t0 + 300))] });
    const [message] = p.jobs.jobs as [WebhookDeliveryJob];
    p.meanwhile(async () => {
      await p.fanout({ Records: [connected(SESSION_A, iso(t0))] });
    });

    expect((await p.deliver({ Records: [recordOf(message)] })).batchItemFailures).toEqual([]);
    const status = p.jobs.jobs[1] as WebhookDeliveryJob;
    // Held until 2 s after the message happened: 1.3 s from the receive at t0 + 1 s.
    expect(p.sleeps).toEqual([1_300]);
    expect(receiver.received.map((r) => [r.type, r.webhookId])).toEqual([
      ['session.status', status.eventId],
      ['message.received', message.eventId],
    ]);
    // The status's own job, behind the message's in the queue, finds it delivered already.
    expect((await p.deliver({ Records: [recordOf(status)] })).batchItemFailures).toEqual([]);
    expect(receiver.received).toHaveLength(2);
    expect(await p.deliveries.get('wh_1', status.eventId)).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('without a settle window the late older event would come second (what the window is for)', async () => {
    const receiver = await startReceiver(() => 204);
    const t0 = Date.now();
    const p = await pipeline(receiver.url, {
      jobs: new RecordingWebhookJobQueue(),
      clock: new FakeClock(new Date(t0 + 1_000)),
      settleMs: 0,
    });
    await p.fanout({ Records: [inbound(SESSION_A, iso(t0 + 300))] });
    await p.deliver({ Records: [recordOf(p.jobs.jobs[0] as WebhookDeliveryJob)] });
    await p.fanout({ Records: [connected(SESSION_A, iso(t0))] });
    await p.deliver({ Records: [recordOf(p.jobs.jobs[1] as WebhookDeliveryJob)] });
    expect(p.sleeps).toEqual([]);
    expect(receiver.received.map((r) => r.type)).toEqual(['message.received', 'session.status']);
  });

  it("holds back the later events of a session whose older event fails, never another session's", async () => {
    let failing = true;
    const receiver = await startReceiver((body) =>
      failing && body.data.sessionId === SESSION_A && body.type === 'session.status' ? 500 : 204,
    );
    const t0 = Date.now() - 10_000; // settled already: no wait
    const p = await pipeline(receiver.url, { jobs: new RecordingWebhookJobQueue() });
    await p.fanout({ Records: [inbound(SESSION_A, iso(t0 + 300)), connected(SESSION_B, iso(t0 + 100))] });
    await p.fanout({ Records: [connected(SESSION_A, iso(t0))] });
    const [messageA, statusB, statusA] = p.jobs.jobs as [
      WebhookDeliveryJob,
      WebhookDeliveryJob,
      WebhookDeliveryJob,
    ];
    expect([messageA.sessionId, statusB.sessionId, statusA.sessionId]).toEqual([
      SESSION_A,
      SESSION_B,
      SESSION_A,
    ]);

    const first = await p.deliver({ Records: [recordOf(messageA), recordOf(statusB)] });
    // Session A's message waits behind its older status, which failed; session B is served.
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: `sqs-${messageA.eventId}` }]);
    expect(receiver.received.map((r) => [r.sessionId, r.type, r.status])).toEqual(
      expect.arrayContaining([
        [SESSION_A, 'session.status', 500],
        [SESSION_B, 'session.status', 204],
      ]),
    );
    expect(receiver.received.some((r) => r.type === 'message.received')).toBe(false);
    // The message's job waits as long as the failed status's backoff says (23 s for a first failure).
    expect((p.control as RecordingJobControl).retries).toEqual([
      { receiptHandle: `rh-${messageA.eventId}-1`, delaySeconds: 23 },
    ]);

    failing = false;
    p.clock.advance(23_000);
    const again = await p.deliver({ Records: [recordOf(messageA, 2)] });
    expect(again.batchItemFailures).toEqual([]);
    const ofA = receiver.received.filter((r) => r.sessionId === SESSION_A && r.status === 204);
    expect(ofA.map((r) => [r.type, r.webhookId])).toEqual([
      ['session.status', statusA.eventId],
      ['message.received', messageA.eventId],
    ]);
    expect(await p.deliveries.get('wh_1', statusA.eventId)).toMatchObject({
      state: 'delivered',
      attempts: 2,
    });
  });
});

describe('webhook order when SQS refuses part of a batch (the FIFO double)', () => {
  let double: SqsFifoDouble;
  let sqs: SQSClient;
  beforeAll(async () => {
    double = await startSqsFifoDouble();
    sqs = new SQSClient({ endpoint: double.endpoint, region: 'us-east-1', maxAttempts: 1 });
  });
  afterAll(async () => {
    sqs?.destroy();
    await double?.stop();
  });

  it('delivers a refused older entry before the later entry of its group that SQS took, though the queue holds them the other way round', async () => {
    const queueName = `deliveries-${Date.now()}.fifo`;
    const { QueueUrl: url } = await sqs.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '30' },
      }),
    );
    const queue = new SqsWebhookJobQueue(sqs, url as string);
    const receiver = await startReceiver(() => 204);
    const p = await pipeline(receiver.url, { jobs: queue, control: queue, settleMs: 0 });
    const t0 = Date.now() - 10_000;
    // One stream batch, two events of one session: SQS refuses the older one's entry only.
    const batch = { Records: [connected(SESSION_A, iso(t0)), inbound(SESSION_A, iso(t0 + 300))] };
    const stopRefusing = double.refuseBatchEntries((body) => body.includes('"session.status"'));
    expect((await p.fanout(batch)).batchItemFailures).toHaveLength(1);
    stopRefusing();
    // The stream hands the batch again: the refused job is queued now, after the later one.
    expect((await p.fanout(batch)).batchItemFailures).toEqual([]);
    const queued = double.bodies(queueName).map((b) => (JSON.parse(b) as WebhookDeliveryJob).envelope.type);
    expect(queued).toEqual(['message.received', 'session.status']);

    // The delivery Lambda's loop: receive, handle, delete what succeeded.
    for (let round = 0; round < 10 && double.bodies(queueName).length > 0; round++) {
      const got = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
        }),
      );
      const records = (got.Messages ?? []).map(
        (m) =>
          ({
            messageId: m.MessageId,
            receiptHandle: m.ReceiptHandle,
            body: m.Body,
            attributes: m.Attributes,
          }) as unknown as SQSRecord,
      );
      const { batchItemFailures } = await p.deliver({ Records: records });
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      for (const r of records.filter((r) => !failed.has(r.messageId)))
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: r.receiptHandle }));
    }
    expect(double.bodies(queueName)).toEqual([]);
    expect(receiver.received.map((r) => [r.type, r.status])).toEqual([
      ['session.status', 204],
      ['message.received', 204],
    ]);
  });
});
