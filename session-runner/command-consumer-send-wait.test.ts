import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Command } from '#shared/contracts/commands.ts';
import { createLogger } from '#shared/logger.ts';
import { CommandConsumer } from './command-consumer.ts';

// The consumer on fake timers while sends wait for their session: a whole FIFO group handed out in
// one receive, a visibility that runs out unless renewed, and a handler that waits for a reconnect
// far longer than that visibility. The queue is a small in-process FIFO model (the HTTP double of
// shared/testing cannot run on fake timers); it redelivers whatever it is not told to keep hidden.

const logger = createLogger('test');
logger.setLogLevel('SILENT');

const VISIBILITY_S = 30;
const SESSION = '44444444-4444-4444-8444-444444444444';

interface Stored {
  id: string;
  body: string;
  group: string;
  visibleAt: number;
  receipt?: string;
  receives: number;
}

/** A FIFO queue: whole free groups per receive, visibility on the clock, the newest receipt only. */
const fifoModel = () => {
  const messages: Stored[] = [];
  const log = { redelivered: 0, givenBack: [] as string[], renewed: new Map<string, number>() };
  let n = 0;
  const inFlight = (m: Stored) => m.receipt !== undefined && m.visibleAt > Date.now();
  const byReceipt = (handle: unknown) => messages.find((m) => m.receipt === handle);
  const sqs = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const input = cmd.input;
      switch (cmd.constructor.name) {
        case 'ReceiveMessageCommand': {
          // A long poll: what arrives during its wait is taken (and stays taken if the client left).
          const deadline = Date.now() + Number(input.WaitTimeSeconds) * 1000;
          let taken: Stored[] = [];
          for (;;) {
            const locked = new Set(messages.filter(inFlight).map((m) => m.group));
            taken = messages.filter((m) => !locked.has(m.group) && !inFlight(m)).slice(0, 10);
            if (taken.length > 0 || Date.now() >= deadline) break;
            await new Promise((r) => setTimeout(r, 25));
          }
          if (taken.length === 0) await new Promise((r) => setTimeout(r, 100));
          for (const m of taken) {
            if (m.receives++ > 0) log.redelivered++;
            m.receipt = `h${++n}`;
            m.visibleAt = Date.now() + Number(input.VisibilityTimeout) * 1000;
          }
          return {
            Messages: taken.map((m) => ({
              MessageId: m.id,
              ReceiptHandle: m.receipt,
              Body: m.body,
              Attributes: { MessageGroupId: m.group },
            })),
          };
        }
        case 'ChangeMessageVisibilityCommand': {
          const m = byReceipt(input.ReceiptHandle);
          if (!m || !inFlight(m)) throw new Error('MessageNotInflight');
          const seconds = Number(input.VisibilityTimeout);
          if (seconds === VISIBILITY_S) log.renewed.set(m.id, (log.renewed.get(m.id) ?? 0) + 1);
          else log.givenBack.push(m.id);
          m.visibleAt = Date.now() + seconds * 1000;
          return {};
        }
        case 'DeleteMessageCommand': {
          const m = byReceipt(input.ReceiptHandle);
          if (m) messages.splice(messages.indexOf(m), 1);
          return {};
        }
        case 'DeleteMessageBatchCommand': {
          for (const entry of input.Entries as { ReceiptHandle: string }[]) {
            const m = byReceipt(entry.ReceiptHandle);
            if (m) messages.splice(messages.indexOf(m), 1);
          }
          return {};
        }
        default:
          return {};
      }
    },
  } as unknown as SQSClient;
  const push = (command: Command) =>
    messages.push({
      id: command.commandId,
      body: JSON.stringify(command),
      group: command.sessionId,
      visibleAt: 0,
      receives: 0,
    });
  return { sqs, push, log, left: () => messages.length };
};

const sendCommand = (i: number): Command => {
  const id = `00000000-0000-4000-8000-00000000000${i}`;
  return {
    v: 1,
    type: 'send',
    sessionId: SESSION,
    commandId: id,
    messageId: id,
    to: '4915199999999',
    text: `m${i}`,
  };
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a whole group of sends waiting for its session (fake timers)', () => {
  it('keeps every waiting command of the group invisible, then runs each once, in order, when the session is back', async () => {
    const queue = fifoModel();
    const commands = [1, 2, 3, 4, 5].map(sendCommand);
    for (const c of commands) queue.push(c);
    let connected = false;
    const started: string[] = [];
    const sent: string[] = [];
    const consumer = new CommandConsumer({
      sqs: queue.sqs,
      queueUrl: 'http://127.0.0.1:1/000000000000/commands-0.fifo',
      logger,
      waitSeconds: 0,
      visibilitySeconds: VISIBILITY_S,
      handle: async (command) => {
        started.push(command.commandId);
        // The session reconnects: the send waits, as supervisor.send does, in short rounds.
        while (!connected) await new Promise((r) => setTimeout(r, 1000));
        if (command.type === 'send') sent.push(command.messageId);
        return { kind: 'done' };
      },
    });
    consumer.start();
    // Four visibility timeouts pass while the first send waits.
    await vi.advanceTimersByTimeAsync(4 * VISIBILITY_S * 1000);
    expect(started).toEqual([commands[0]?.commandId]); // the others wait their turn, not in parallel
    expect(queue.log.redelivered).toBe(0);
    expect(queue.log.givenBack).toEqual([]);
    // Every one of the five was renewed, the ones waiting their turn too.
    for (const c of commands) expect(queue.log.renewed.get(c.commandId) ?? 0).toBeGreaterThanOrEqual(10);

    connected = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual(commands.map((c) => c.commandId));
    await vi.advanceTimersByTimeAsync(200); // the deletes go in one batch, 200 ms after the first
    expect(queue.left()).toBe(0);
    expect(queue.log.redelivered).toBe(0);
    const stopping = consumer.stop();
    await vi.advanceTimersByTimeAsync(3_000);
    await stopping;
  });

  it('gives back a command received after stop() at once (visibility 0), without running it', async () => {
    const queue = fifoModel();
    const handled: string[] = [];
    const consumer = new CommandConsumer({
      sqs: queue.sqs,
      queueUrl: 'http://127.0.0.1:1/000000000000/commands-0.fifo',
      logger,
      waitSeconds: 1,
      visibilitySeconds: VISIBILITY_S,
      handle: async (command) => {
        handled.push(command.commandId);
        return { kind: 'done' };
      },
    });
    consumer.start();
    await vi.advanceTimersByTimeAsync(50); // a receive is under way (the queue is empty: it waits)
    const stopping = consumer.stop();
    queue.push(sendCommand(1)); // arrives while that receive is still open
    await vi.advanceTimersByTimeAsync(3_000);
    await stopping;
    expect(handled).toEqual([]);
    expect(queue.log.givenBack).toEqual([sendCommand(1).commandId]);
    expect(queue.left()).toBe(1);
  });
});
