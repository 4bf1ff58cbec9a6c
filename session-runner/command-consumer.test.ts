import { randomBytes } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '#shared/logger.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { aMessage } from '#shared/testing/builders.ts';
import { InMemoryMessageStore } from '#shared/testing/in-memory-stores.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { type SqsFifoDouble, startSqsFifoDouble } from '#shared/testing/sqs-fifo-double.ts';
import { CommandConsumer, type CommandHandler } from './command-consumer.ts';

let aws: TestAws;
let queueUrl: string;
/** A second command queue: a consumer of the first test may still hold a long poll open on the first. */
let otherQueueUrl: string;
beforeAll(async () => {
  aws = await provisionTestAws({ shardCount: 2 });
  [queueUrl, otherQueueUrl] = (aws.env.COMMAND_QUEUE_URLS ?? '').split(',') as [string, string];
  process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
});
afterAll(() => aws?.destroy());

const send = (body: string, group: string, id: string, url = queueUrl) =>
  aws.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: id,
    }),
  );

describe('CommandConsumer', () => {
  it('moves a malformed command to the DLQ with its reason, and the session group goes on in order', async () => {
    const sessionId = '11111111-1111-4111-8111-111111111111';
    await send('{not json', sessionId, 'bad-1');
    await send(JSON.stringify({ v: 1, type: 'start', sessionId, commandId: 'c1' }), sessionId, 'c1');
    await send(
      JSON.stringify({ v: 1, type: 'stop', sessionId, commandId: 'c2', logout: false }),
      sessionId,
      'c2',
    );
    const handled: string[] = [];
    const consumer = new CommandConsumer({
      sqs: aws.clients.sqs,
      queueUrl,
      logger: createLogger('test'),
      waitSeconds: 1,
      handle: async (command) => {
        handled.push(command.commandId);
        return { kind: 'done' };
      },
    });
    consumer.start();
    const deadline = Date.now() + 15_000;
    while (handled.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();
    expect(handled).toEqual(['c1', 'c2']);

    const dlqUrl = queueUrl.replace(/commands-0\.fifo$/, 'commands-0-dlq.fifo');
    const out = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }),
    );
    expect(out.Messages?.[0]?.Body).toBe('{not json');
    expect(out.Messages?.[0]?.MessageAttributes?.reason?.StringValue).toContain('expected object');
    expect(await drainQueue(aws.clients.sqs, queueUrl)).toEqual([]);
  });

  it('leaves a failing command for redelivery instead of deleting it', async () => {
    const sessionId = '22222222-2222-4222-8222-222222222222';
    await send(
      JSON.stringify({ v: 1, type: 'start', sessionId, commandId: 'boom' }),
      sessionId,
      'boom',
      otherQueueUrl,
    );
    let attempts = 0;
    const consumer = new CommandConsumer({
      sqs: aws.clients.sqs,
      queueUrl: otherQueueUrl,
      logger: createLogger('test'),
      waitSeconds: 1,
      handle: async () => {
        attempts++;
        throw new Error('DynamoDB down');
      },
    });
    consumer.start();
    const deadline = Date.now() + 10_000;
    while (attempts < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();
    expect(attempts).toBe(1);
    // Still in the queue (in flight until its visibility timeout), not deleted.
    const attributes = await aws.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: otherQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(1);
  });
});

// Under SQS's real FIFO behaviour (the double): whole groups per receive, short visibility,
// redelivery, outages. What a handler "sends" is counted; each must go out once, in order.
describe('CommandConsumer under SQS FIFO semantics (the double)', () => {
  let double: SqsFifoDouble;
  let sqs: SQSClient;
  const sessionId = '33333333-3333-4333-8333-333333333333';
  beforeAll(async () => {
    double = await startSqsFifoDouble();
    sqs = new SQSClient({ endpoint: double.endpoint, region: 'us-east-1', maxAttempts: 1 });
  });
  afterAll(async () => {
    sqs?.destroy();
    await double?.stop();
  });

  const shortQueue = async () => {
    const name = `commands-${randomBytes(3).toString('hex')}.fifo`;
    const out = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '2' },
      }),
    );
    return { url: out.QueueUrl as string, name };
  };
  const sendCommand = (url: string, messageId: string, dedup = messageId) =>
    sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageGroupId: sessionId,
        MessageDeduplicationId: dedup,
        MessageBody: JSON.stringify({
          v: 1,
          type: 'send',
          sessionId,
          commandId: dedup,
          messageId,
          to: '4915199999999@s.whatsapp.net',
          text: `text of ${messageId}`,
        }),
      }),
    );
  const ids = (n: number) =>
    Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-00000000000${i + 1}`);
  const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const consumerOn = (url: string, handle: CommandHandler, visibilitySeconds = 2) =>
    new CommandConsumer({
      sqs,
      queueUrl: url,
      logger: createLogger('test'),
      waitSeconds: 1,
      visibilitySeconds,
      extendEveryMs: 400,
      handle,
    });

  it('runs a whole group of 5 sends received at once, with a 2 s visibility and a slow reconnect, each once and in order', async () => {
    const { url, name } = await shortQueue();
    const messageIds = ids(5);
    for (const id of messageIds) await sendCommand(url, id);
    const sent: string[] = [];
    let firstReceive = 0;
    const consumer = consumerOn(url, async (command) => {
      firstReceive ||= Date.now();
      // The session is reconnecting: the first send waits longer than the queue's visibility.
      while (Date.now() - firstReceive < 5000) await new Promise((r) => setTimeout(r, 100));
      if (command.type === 'send') sent.push(command.messageId);
      return { kind: 'done' };
    });
    consumer.start();
    await waitFor('all five sent and deleted', () => sent.length >= 5 && double.bodies(name).length === 0);
    await consumer.stop();
    expect(sent).toEqual(messageIds);
    expect(double.stats().redelivered).toBe(0);
  });

  it('runs nothing twice when visibility runs out during an outage and the group comes again', async () => {
    const { url, name } = await shortQueue();
    const messageIds = ids(4);
    for (const id of messageIds) await sendCommand(url, id);
    const before = double.stats().redelivered;
    const sent: string[] = [];
    let endOutage: (() => void) | undefined;
    const consumer = consumerOn(
      url,
      async (command) => {
        if (sent.length === 0) {
          // Renewals fail while the first command runs: the whole group reappears and is received again.
          endOutage = double.outage(['ChangeMessageVisibility']);
          await waitFor('the group redelivered', () => double.stats().redelivered - before >= 4);
          endOutage();
        }
        if (command.type === 'send') sent.push(command.messageId);
        return { kind: 'done' };
      },
      1,
    );
    consumer.start();
    await waitFor('all sent and deleted', () => sent.length >= 4 && double.bodies(name).length === 0);
    await consumer.stop();
    expect(sent).toEqual(messageIds);
  });

  it('deletes a handled command once the queue takes deletes again, without running it again', async () => {
    const { url, name } = await shortQueue();
    const [messageId] = ids(1);
    await sendCommand(url, messageId as string);
    const endOutage = double.outage(['DeleteMessage', 'DeleteMessageBatch']);
    let runs = 0;
    const consumer = consumerOn(
      url,
      async () => {
        runs++;
        return { kind: 'done' };
      },
      1,
    );
    consumer.start();
    await waitFor('handled once', () => runs === 1);
    // Its visibility runs out while the delete fails: it comes again and is only deleted.
    const before = double.stats().redelivered;
    await waitFor('redelivered during the outage', () => double.stats().redelivered > before);
    endOutage();
    await waitFor('deleted', () => double.bodies(name).length === 0);
    await consumer.stop();
    expect(runs).toBe(1);
  });

  it('gives the rest of a group back after a command given back, and runs them after it, in order', async () => {
    const { url, name } = await shortQueue();
    const messageIds = ids(3);
    for (const id of messageIds) await sendCommand(url, id);
    const runs: string[] = [];
    let refused = false;
    const consumer = consumerOn(url, async (command) => {
      if (command.type !== 'send') return { kind: 'done' };
      runs.push(command.messageId);
      if (command.messageId === messageIds[1] && !refused) {
        refused = true;
        return { kind: 'retry', afterSeconds: 1 };
      }
      return { kind: 'done' };
    });
    consumer.start();
    await waitFor('all done', () => double.bodies(name).length === 0);
    await consumer.stop();
    expect(runs).toEqual([messageIds[0], messageIds[1], messageIds[1], messageIds[2]]);
  });

  /** An SQS client on the double that records the name of every command it sends. */
  const countingClient = () => {
    const calls: { name: string; entries: number }[] = [];
    const client = new SQSClient({ endpoint: double.endpoint, region: 'us-east-1', maxAttempts: 1 });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Entries?: unknown[] };
        calls.push({ name: context.commandName ?? '', entries: input.Entries?.length ?? 1 });
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    return { client, calls, deletes: () => calls.filter((c) => c.name.startsWith('DeleteMessage')) };
  };
  /** One send command per session (each its own FIFO group). */
  const sendOnePerSession = async (url: string, n: number) => {
    for (let i = 0; i < n; i++)
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageGroupId: `session-${i}`,
          MessageDeduplicationId: `d${i}`,
          MessageBody: JSON.stringify({
            v: 1,
            type: 'send',
            sessionId: `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
            commandId: `00000000-0000-4000-9000-0000000000${String(i).padStart(2, '0')}`,
            messageId: `00000000-0000-4000-a000-0000000000${String(i).padStart(2, '0')}`,
            to: '4915199999999@s.whatsapp.net',
            text: `text ${i}`,
          }),
        }),
      );
  };

  it('deletes the commands handled together in one DeleteMessageBatch, sent at the latest on stop', async () => {
    const { url, name } = await shortQueue();
    await sendOnePerSession(url, 5);
    const { client, deletes } = countingClient();
    const handled: string[] = [];
    const consumer = new CommandConsumer({
      sqs: client,
      queueUrl: url,
      logger: createLogger('test'),
      waitSeconds: 1,
      visibilitySeconds: 30,
      // Longer than the test: only the stop sends the deletes.
      deleteBatchMs: 600_000,
      handle: async (command) => {
        handled.push(command.sessionId);
        return { kind: 'done' };
      },
    });
    consumer.start();
    await waitFor('all five handled', () => handled.length === 5);
    expect(deletes()).toEqual([]);
    expect(double.bodies(name)).toHaveLength(5); // handled, held until their batch goes
    await consumer.stop();
    client.destroy();
    expect(deletes()).toEqual([{ name: 'DeleteMessageBatchCommand', entries: 5 }]);
    expect(double.bodies(name)).toEqual([]);
  });

  it('sends a delete batch as soon as ten handled commands wait for it', async () => {
    const { url, name } = await shortQueue();
    await sendOnePerSession(url, 12);
    const { client, deletes } = countingClient();
    let handled = 0;
    const consumer = new CommandConsumer({
      sqs: client,
      queueUrl: url,
      logger: createLogger('test'),
      waitSeconds: 1,
      visibilitySeconds: 30,
      deleteBatchMs: 600_000,
      handle: async () => {
        handled++;
        return { kind: 'done' };
      },
    });
    consumer.start();
    // The first receive brings ten (the most a receive takes): deleted without waiting for the stop.
    await waitFor('ten deleted before the stop', () => double.bodies(name).length === 2);
    await waitFor('all twelve handled', () => handled === 12);
    await consumer.stop();
    client.destroy();
    expect(deletes()).toEqual([
      { name: 'DeleteMessageBatchCommand', entries: 10 },
      { name: 'DeleteMessageBatchCommand', entries: 2 },
    ]);
    expect(double.bodies(name)).toEqual([]);
  });

  it('keeps the commands of a failed delete batch held, runs none of them again, and deletes them once SQS takes deletes', async () => {
    const { url, name } = await shortQueue();
    await sendOnePerSession(url, 3);
    const endOutage = double.outage(['DeleteMessage', 'DeleteMessageBatch']);
    const runs: string[] = [];
    const consumer = new CommandConsumer({
      sqs,
      queueUrl: url,
      logger: createLogger('test'),
      waitSeconds: 1,
      visibilitySeconds: 1,
      extendEveryMs: 400,
      deleteBatchMs: 50,
      handle: async (command) => {
        runs.push(command.sessionId);
        return { kind: 'done' };
      },
    });
    consumer.start();
    await waitFor('all three handled', () => runs.length === 3);
    // Their visibility runs out while the deletes fail: they come again and are only deleted.
    const before = double.stats().redelivered;
    await waitFor('redelivered during the outage', () => double.stats().redelivered >= before + 3);
    endOutage();
    await waitFor('deleted', () => double.bodies(name).length === 0);
    await consumer.stop();
    expect(runs.sort()).toEqual([...new Set(runs)].sort());
    expect(runs).toHaveLength(3);
  });

  it('deletes a handled command redelivered while its delete was in flight right after that delete, so a stop in between leaves nothing for the next owner', async () => {
    const { url, name } = await shortQueue();
    const [messageId] = ids(1) as [string];
    await sendCommand(url, messageId);
    const logger = createLogger('test');
    const warn = vi.spyOn(logger, 'warn');
    const redeliverySeen = () =>
      warn.mock.calls.some(([message]) => message === 'command received again while held: not run twice');
    // The first delete (under the first receipt handle) is held back until the command was received
    // again (its visibility ran out, no renewal within the test) and the consumer took the new handle.
    const client = new SQSClient({ endpoint: double.endpoint, region: 'us-east-1', maxAttempts: 1 });
    let staleDeleteAnswered = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!context.commandName?.startsWith('DeleteMessage') || staleDeleteAnswered) return next(args);
        await waitFor('the command received again', redeliverySeen);
        const out = await next(args);
        staleDeleteAnswered = true;
        return out;
      },
      { step: 'initialize', name: 'holdFirstDelete' },
    );
    let runs = 0;
    const consumer = new CommandConsumer({
      sqs: client,
      queueUrl: url,
      logger,
      waitSeconds: 1,
      // Comes again 3 s after a receive: the stop below ends its receive (1 s) well before a third.
      visibilitySeconds: 3,
      // No renewal in this test: only the consumer's own reaction to the redelivery deletes it.
      extendEveryMs: 600_000,
      deleteBatchMs: 50,
      handle: async () => {
        runs++;
        return { kind: 'done' };
      },
    });
    consumer.start();
    await waitFor('the stale delete answered', () => staleDeleteAnswered);
    // SQS accepted the old handle but deleted nothing: the command is still in the queue.
    expect(double.bodies(name)).toHaveLength(1);
    await consumer.stop();
    client.destroy();
    expect(double.bodies(name)).toEqual([]);
    expect(runs).toBe(1);
  });

  it('a redelivered send after SENT is not sent again, by this runner or the next one', async () => {
    const { url, name } = await shortQueue();
    const store = new InMemoryMessageStore();
    const [messageId] = ids(1) as [string];
    await store.putIfAbsent(aMessage({ messageId, sessionId, tenantId: 't' }));
    const sent: string[] = [];
    // The runner's send path in short: claim (fenced), send, record SENT; a final message is done.
    const runnerHandler =
      (fence: number): CommandHandler =>
      async (command) => {
        if (command.type !== 'send') return { kind: 'done' };
        const claim = await store.claimSend(command.messageId, {
          sessionId,
          tenantId: 't',
          fence,
          runnerId: `runner-${fence}`,
          waMessageId: 'WA',
          now: new Date().toISOString(),
          staleBefore: new Date(Date.now() - 60_000).toISOString(),
        });
        if (claim.kind === 'busy') return { kind: 'retry', afterSeconds: 1 };
        if (claim.kind !== 'claimed') return { kind: 'done' };
        sent.push(command.messageId);
        await store.updateStatus(command.messageId, { status: 'SENT', fence, now: new Date().toISOString() });
        return { kind: 'done' };
      };
    await sendCommand(url, messageId);
    // Runner 1 sends, but its delete never arrives (outage), and it stops.
    const endOutage = double.outage(['DeleteMessage', 'DeleteMessageBatch']);
    const first = consumerOn(url, runnerHandler(1), 1);
    first.start();
    await waitFor('sent by runner 1', () => sent.length === 1);
    await first.stop();
    endOutage();
    // The command comes again, to the next runner, and is not sent again; a copy under another
    // deduplication id (a replayed enqueue) is not either.
    await sendCommand(url, messageId, 'replayed-enqueue');
    const second = consumerOn(url, runnerHandler(2), 1);
    second.start();
    await waitFor('both copies deleted', () => double.bodies(name).length === 0);
    await second.stop();
    expect(sent).toEqual([messageId]);
    expect((await store.get(messageId))?.status).toBe('SENT');
  });
});
