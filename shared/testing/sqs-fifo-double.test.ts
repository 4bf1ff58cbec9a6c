import { randomBytes } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SqsFifoDouble, startSqsFifoDouble } from './sqs-fifo-double.ts';

// The FIFO semantics the consumer relies on, checked against fauxqs (the stand-in) and the double
// alike, so the double is no looser than the stand-in; then what only the double does (and SQS).

let double: SqsFifoDouble;
const clients: SQSClient[] = [];
beforeAll(async () => {
  double = await startSqsFifoDouble();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await double?.stop();
});

const clientFor = (endpoint: string) => {
  const client = new SQSClient({ endpoint, region: 'us-east-1', maxAttempts: 1 });
  clients.push(client);
  return client;
};

const fifoQueue = async (sqs: SQSClient, visibilitySeconds = 30) => {
  const out = await sqs.send(
    new CreateQueueCommand({
      QueueName: `q${randomBytes(4).toString('hex')}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        VisibilityTimeout: String(visibilitySeconds),
      },
    }),
  );
  return out.QueueUrl as string;
};

const helpers = (sqs: SQSClient, url: string) => ({
  send: (body: string, group: string, dedup = body) =>
    sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: dedup,
      }),
    ),
  receive: async (options: { visibility?: number; wait?: number } = {}): Promise<Message[]> =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: options.wait ?? 0,
          ...(options.visibility !== undefined && { VisibilityTimeout: options.visibility }),
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
        }),
      )
    ).Messages ?? [],
  remove: (m: Message) =>
    sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle })),
});

/** Receives until `check` holds on what came, bounded (no fixed sleeps). */
const receiveUntil = async (
  receive: () => Promise<Message[]>,
  check: (m: Message[]) => boolean,
  timeoutMs = 10_000,
) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await receive();
    if (check(got)) return got;
    if (Date.now() > deadline) throw new Error('condition not met in time');
  }
};

describe.each([
  ['fauxqs (the stand-in)', () => inject('fauxqsEndpoint')],
  ['the SQS FIFO double', () => double.endpoint],
])('FIFO contract: %s', (_name, endpointOf) => {
  let sqs: SQSClient;
  beforeAll(() => {
    sqs = clientFor(endpointOf());
  });

  it("hands out a group's messages in order, none while an earlier one is in flight, other groups meanwhile", async () => {
    const url = await fifoQueue(sqs);
    const q = helpers(sqs, url);
    for (const body of ['a1', 'a2', 'a3']) await q.send(body, 'A');
    await q.send('b1', 'B');
    const first = await q.receive();
    const bodies = first.map((m) => m.Body);
    expect(bodies).toContain('a1');
    expect(bodies).toContain('b1');
    const ofA = bodies.filter((b) => b?.startsWith('a'));
    expect(ofA).toEqual(['a1', 'a2', 'a3'].slice(0, ofA.length));
    // Group A is locked while its messages are in flight.
    expect((await q.receive()).map((m) => m.Body)).toEqual([]);
    const order = [...ofA];
    for (const m of first) await q.remove(m);
    while (order.length < 3) {
      const next = await q.receive();
      expect(next.length).toBeGreaterThan(0);
      order.push(...next.map((m) => m.Body as string));
      for (const m of next) await q.remove(m);
    }
    expect(order).toEqual(['a1', 'a2', 'a3']);
    expect(await q.receive()).toEqual([]);
  });

  it('accepts a repeated deduplication id without enqueuing the message again', async () => {
    const url = await fifoQueue(sqs);
    const q = helpers(sqs, url);
    await q.send('once', 'A', 'same-id');
    await q.send('twice', 'A', 'same-id');
    const got = await q.receive();
    expect(got.map((m) => m.Body)).toEqual(['once']);
    await q.remove(got[0] as Message);
    expect(await q.receive()).toEqual([]);
  });

  it('hands a message out again when its visibility runs out, with a new receipt handle and count', async () => {
    const url = await fifoQueue(sqs);
    const q = helpers(sqs, url);
    await q.send('m1', 'A');
    const [first] = await q.receive({ visibility: 1 });
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(await q.receive()).toEqual([]);
    const [again] = await receiveUntil(
      () => q.receive({ wait: 1 }),
      (m) => m.length > 0,
    );
    expect(again?.Body).toBe('m1');
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(again?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
    await q.remove(again as Message);
    expect(await q.receive()).toEqual([]);
  });

  it('keeps a message invisible while its visibility is extended, and gives it back at once with 0', async () => {
    const url = await fifoQueue(sqs, 1);
    const q = helpers(sqs, url);
    await q.send('m1', 'A');
    const [m] = await q.receive();
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: m?.ReceiptHandle,
        VisibilityTimeout: 30,
      }),
    );
    // Longer than the queue's 1 s visibility: still in flight.
    expect(await q.receive({ wait: 2 })).toEqual([]);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: m?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const [back] = await receiveUntil(
      () => q.receive({ wait: 1 }),
      (got) => got.length > 0,
    );
    expect(back?.Body).toBe('m1');
  });

  it('deletes every entry of a DeleteMessageBatch, each by its receipt handle', async () => {
    const url = await fifoQueue(sqs);
    const q = helpers(sqs, url);
    for (const body of ['d1', 'd2']) await q.send(body, body);
    const got = await receiveUntil(q.receive, (m) => m.length === 2);
    const out = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: got.map((m, i) => ({ Id: `e${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    expect((out.Successful ?? []).map((e) => e.Id).sort()).toEqual(['e0', 'e1']);
    expect(out.Failed ?? []).toEqual([]);
    // Deleted: made visible at once (had they stayed), nothing comes back.
    for (const m of got)
      await sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch(() => undefined);
    expect(await q.receive()).toEqual([]);
  });
});

describe('the SQS FIFO double, beyond the stand-in', () => {
  let sqs: SQSClient;
  beforeAll(() => {
    sqs = clientFor(double.endpoint);
  });

  it('returns several messages of one group in one receive, as SQS does', async () => {
    const url = await fifoQueue(sqs);
    const q = helpers(sqs, url);
    for (let i = 1; i <= 5; i++) await q.send(`m${i}`, 'session-1');
    expect((await q.receive()).map((m) => m.Body)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('fails an action during an outage and serves it again afterwards', async () => {
    const url = await fifoQueue(sqs);
    const q = helpers(sqs, url);
    await q.send('m1', 'A');
    const end = double.outage(['ReceiveMessage']);
    await expect(q.receive()).rejects.toMatchObject({ name: 'InternalError' });
    end();
    expect((await q.receive()).map((m) => m.Body)).toEqual(['m1']);
  });

  it('refuses the matching entries of a batch and takes the others, a later entry of the same group too', async () => {
    const url = await fifoQueue(sqs);
    const end = double.refuseBatchEntries((body) => body === 'a1');
    const entry = (body: string, group: string) => ({
      Id: body,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: body,
    });
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [entry('a1', 'A'), entry('a2', 'A'), entry('b1', 'B')],
      }),
    );
    end();
    expect(out.Failed?.map((f) => f.Id)).toEqual(['a1']);
    expect(out.Successful?.map((f) => f.Id)).toEqual(['a2', 'b1']);
    // Sent again, the refused entry now queues after the later entry of its group.
    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: [entry('a1', 'A'), entry('a2', 'A')] }),
    );
    expect(double.bodies(url.split('/').pop() as string)).toEqual(['a2', 'b1', 'a1']);
  });

  it('refuses to extend a message whose visibility ran out, and ignores a delete with its old receipt handle', async () => {
    const url = await fifoQueue(sqs);
    const q = helpers(sqs, url);
    await q.send('m1', 'A');
    const [first] = await q.receive({ visibility: 1 });
    const [again] = await receiveUntil(
      () => q.receive({ wait: 1 }),
      (m) => m.length > 0,
    );
    await expect(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first?.ReceiptHandle,
          VisibilityTimeout: 30,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await q.remove(first as Message); // accepted, deletes nothing
    expect(double.bodies(url.split('/').pop() as string)).toEqual(['m1']);
    await q.remove(again as Message);
    expect(double.bodies(url.split('/').pop() as string)).toEqual([]);
  });
});
