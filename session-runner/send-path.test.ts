import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { type SqsFifoDouble, startSqsFifoDouble } from '#shared/testing/sqs-fifo-double.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';

// The send path end to end, with real Baileys against the simulator, while the runner's SQS is the
// FIFO double (whole groups per receive, a 2 s queue visibility): what the contact receives is
// counted at its inbox. The tenant API still enqueues on the stand-in; `bridge()` forwards.

let h: Harness;
let double: SqsFifoDouble;
let sqs: SQSClient;
let runner: Runner | undefined;
let env: Record<string, string>;
const PHONE = '4915100000021';
const CONTACT = '4915199999921';

beforeAll(async () => {
  h = await startHarness();
  double = await startSqsFifoDouble();
  sqs = new SQSClient({ endpoint: double.endpoint, region: 'us-east-1' });
  const queue = async (name: string) =>
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '2' },
        }),
      )
    ).QueueUrl as string;
  env = {
    ...h.runnerEnv,
    COMMAND_QUEUE_URLS: await queue('commands-0.fifo'),
    INCOMING_QUEUE_URL: await queue('incoming.fifo'),
    // Five sends then take seconds, longer than the queue's visibility.
    SEND_MIN_INTERVAL_MS: '700',
  };
});
afterAll(async () => {
  await runner?.shutdown();
  sqs?.destroy();
  await double?.stop();
  await h?.close();
});

const start = () =>
  startRunner(loadConfig(RunnerEnv, env), {
    clients: { ...h.aws.clients, sqs },
    socketOverrides: FAST_SOCKET,
  });

/** Forwards what the tenant API enqueued (on the stand-in) to the double, as one FIFO stream. */
const bridge = async () => {
  for (const command of await drainQueue(h.aws.clients.sqs, h.runnerEnv.COMMAND_QUEUE_URLS)) {
    const { group, ...body } = command;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: env.COMMAND_QUEUE_URLS,
        MessageBody: JSON.stringify(body),
        MessageGroupId: group as string,
        MessageDeduplicationId: body.commandId as string,
      }),
    );
  }
};

describe('the send path under SQS FIFO semantics, with the simulator', () => {
  let sessionId: string;

  it('links a session through commands received from the double', async () => {
    runner = await start();
    const init = await h.call('POST', '/init', { chatbotId: 'send-path-bot' });
    sessionId = init.body.sessionId;
    await bridge();
    const qr = await h.waitFor('a QR', async () => {
      const res = await h.call('GET', `/qr-code/${sessionId}`);
      return res.status === 200 ? (res.body.qr as string) : undefined;
    });
    await h.sim.scanQr(PHONE, qr);
    await h.waitFor('CONNECTED', async () => (await h.sessions.get(sessionId))?.status === 'CONNECTED');
  });

  // Found here: the old runner's stop() aborted its long poll, which went on at the queue and took
  // the first commands of the burst, locking the group for a whole visibility (30 s) before the new
  // runner got any. stop() now lets the receive end and gives back what it brings.
  it('sends a whole group of 5, received at once while the session reconnects, each once and in order', async () => {
    await runner?.shutdown();
    const texts = [1, 2, 3, 4, 5].map((i) => `group message ${i}`);
    const ids: string[] = [];
    for (const message of texts) {
      const res = await h.call('POST', '/send', { sessionId, to: `+${CONTACT}`, message });
      expect(res.status).toBe(202);
      ids.push(res.body.messageId);
    }
    await bridge();
    const before = double.stats().redelivered;
    // The new runner receives the five together while its session is still connecting.
    runner = await start();
    await h.waitFor(
      'all five SENT',
      async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await h.messages.get(id))?.status));
        return statuses.every((s) => s !== 'QUEUED');
      },
      60_000,
    );
    await h.waitFor('the command queue empty', () => double.bodies('commands-0.fifo').length === 0);
    const inbox = h.sim
      .inbox(CONTACT)
      .map((m) => m.text)
      .filter((t) => t.startsWith('group message'));
    expect(inbox).toEqual(texts);
    expect(double.stats().redelivered - before).toBe(0);
  }, 90_000);

  it('a receipt for a message sent before a restart updates it afterwards: READ', async () => {
    const res = await h.call('POST', '/send', { sessionId, to: `+${CONTACT}`, message: 'read me later' });
    await bridge();
    const entry = await h.waitFor('in the inbox', () =>
      h.sim.inbox(CONTACT).find((m) => m.text === 'read me later'),
    );
    await h.waitFor(
      'DELIVERED',
      async () => (await h.messages.get(res.body.messageId))?.status === 'DELIVERED',
    );
    // A new runner process (new fence, nothing in memory) holds the session when the contact reads.
    await runner?.shutdown();
    const connectedBefore = (await h.sessions.get(sessionId))?.connectedAt ?? '';
    runner = await start();
    await h.waitFor(
      'reconnected',
      async () => ((await h.sessions.get(sessionId))?.connectedAt ?? '') > connectedBefore,
    );
    h.sim.markRead(CONTACT, entry.id);
    const read = await h.waitFor('READ', async () => {
      const message = await h.messages.get(res.body.messageId);
      return message?.status === 'READ' ? message : undefined;
    });
    expect(read.waMessageId).toBe(entry.id);
    expect(h.sim.inbox(CONTACT).filter((m) => m.text === 'read me later')).toHaveLength(1);
  }, 60_000);
});
