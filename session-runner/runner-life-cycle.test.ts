import { EventEmitter } from 'node:events';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { Boom } from '@hapi/boom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Command, SendCommand } from '#shared/contracts/commands.ts';
import { createLogger } from '#shared/logger.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { InMemoryLeaseStore } from '#shared/testing/in-memory-lease-store.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import type { RunnerMetric } from './metrics.ts';
import { SendSweeper } from './send-sweeper.ts';
import { type SessionContext, WhatsAppSession } from './session.ts';
import { Supervisor, type SupervisorOptions } from './supervisor.ts';
import { waMessageIdFor } from './wa-message-id.ts';

// The runner's life cycle on fake timers, wired together: a lease loss halting the sockets, the
// heartbeat, draining, reconnect backoff, the send sweeper. Baileys is replaced by a fake socket the
// test opens and closes; the command queue by a double; the stores by the fakes. The lease keeper
// and the shard's sessions (send-wait, drain, loss) have their own unit tests (lease-keeper.test.ts,
// shard-sessions.test.ts).

interface FakeSocket {
  ev: EventEmitter;
  ws: EventEmitter;
  user: { id: string };
  createdAt: number;
  ended: boolean;
  /** How long the next sendMessage calls take (fake time). */
  sendDelayMs: number;
  sending: number;
  sent: string[];
  sendMessage(to: string, content: { text: string }, options: { messageId: string }): Promise<unknown>;
  end(): void;
  logout(): Promise<void>;
}

const sockets: FakeSocket[] = [];

vi.mock('@whiskeysockets/baileys', async (importOriginal) => {
  const original = await importOriginal<typeof import('@whiskeysockets/baileys')>();
  const makeSocket = (): FakeSocket => {
    const sock: FakeSocket = {
      ev: new EventEmitter(),
      ws: new EventEmitter(),
      user: { id: '4915100000001:1@s.whatsapp.net' },
      createdAt: Date.now(),
      ended: false,
      sendDelayMs: 0,
      sending: 0,
      sent: [],
      async sendMessage(_to, _content, options) {
        sock.sending++;
        await new Promise((r) => setTimeout(r, sock.sendDelayMs));
        sock.sent.push(options.messageId);
        return {};
      },
      end: () => {
        sock.ended = true;
      },
      logout: async () => undefined,
    };
    sockets.push(sock);
    return sock;
  };
  return { ...original, default: makeSocket };
});

const logger = createLogger('test');
logger.setLogLevel('SILENT');

const LEASE_MS = 30_000;

/** A command queue double: hands out what `push` put in, once; records deletes and give-backs. */
const queueDouble = () => {
  const pending: Command[] = [];
  const deleted: string[] = [];
  const givenBack: string[] = [];
  let n = 0;
  const bodies = new Map<string, Command>();
  const sqs = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const kind = cmd.constructor.name;
      const command = bodies.get(String(cmd.input.ReceiptHandle));
      if (kind === 'DeleteMessageCommand' && command) deleted.push(command.commandId);
      if (kind === 'DeleteMessageBatchCommand')
        for (const entry of cmd.input.Entries as { ReceiptHandle: string }[]) {
          const batched = bodies.get(entry.ReceiptHandle);
          if (batched) deleted.push(batched.commandId);
        }
      if (kind === 'ChangeMessageVisibilityCommand' && command && cmd.input.VisibilityTimeout !== 30)
        givenBack.push(command.commandId);
      if (kind !== 'ReceiveMessageCommand') return {};
      const batch = pending.splice(0);
      if (batch.length === 0) await new Promise((r) => setTimeout(r, 100));
      return {
        Messages: batch.map((c) => {
          const handle = `r${++n}`;
          bodies.set(handle, c);
          return {
            MessageId: `m${n}`,
            ReceiptHandle: handle,
            Body: JSON.stringify(c),
            Attributes: { MessageGroupId: c.sessionId },
          };
        }),
      };
    },
  } as unknown as SQSClient;
  return { sqs, push: (c: Command) => pending.push(c), deleted, givenBack };
};

const timers: SessionContext['timers'] = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

const supervisors: Supervisor[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(Date.parse('2026-01-01T12:00:00.000Z'));
  sockets.length = 0;
});
afterEach(async () => {
  const stopping = Promise.all(supervisors.splice(0).map((s) => s.shutdown()));
  await vi.advanceTimersByTimeAsync(60_000);
  await stopping;
  vi.useRealTimers();
});

const setup = (
  o: {
    sessions?: number;
    sendWaitMs?: number;
    leaseMs?: number;
    leaseCallTimeoutMs?: number;
    heartbeatMs?: number;
    sweepSends?: SupervisorOptions['sweepSends'];
  } = {},
) => {
  const sessions = new InMemorySessionStore();
  const records = Array.from({ length: o.sessions ?? 1 }, (_, i) =>
    aSession({ status: 'CONNECTED', chatbotId: `bot-${i}` }),
  );
  for (const r of records) sessions.items.set(r.sessionId, r);
  const messages = new InMemoryMessageStore();
  const leases = new InMemoryLeaseStore();
  const metrics: RunnerMetric[] = [];
  const queue = queueDouble();
  const supervisor = new Supervisor({
    runnerId: 'r1',
    shards: [0],
    commandQueueUrls: ['http://127.0.0.1:1/000000000000/commands-0.fifo'],
    sqs: queue.sqs,
    leases,
    leaseDurationMs: o.leaseMs ?? LEASE_MS,
    staggerMs: 0,
    // The silence watchdog is not under test: fake sockets send no frames.
    heartbeatMs: o.heartbeatMs ?? 3_600_000,
    receiveWaitSeconds: 0,
    ...(o.sendWaitMs !== undefined && { sendWaitMs: o.sendWaitMs }),
    ...(o.leaseCallTimeoutMs !== undefined && { leaseCallTimeoutMs: o.leaseCallTimeoutMs }),
    ...(o.sweepSends && { sweepSends: o.sweepSends }),
    session: {
      sessions,
      messages,
      objects: new InMemoryObjectStore(),
      publishIncoming: async () => undefined,
      metrics: (name) => void metrics.push(name),
      logger,
      timers,
      now: Date.now,
      runnerId: 'r1',
      waWebSocketUrl: 'ws://127.0.0.1:1',
      sendMinIntervalMs: 0,
      backoff: { baseMs: 1000, capMs: 60_000 },
    },
  });
  supervisors.push(supervisor);
  const shard = () => supervisor.status()[0] as { fence?: number; sessions: number };
  /** Starts the supervisor and lets it take the shard and open every session. */
  const startAndResume = async () => {
    supervisor.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(shard().fence).toBe(1);
    expect(shard().sessions).toBe(records.length);
    expect(supervisor.ready()).toBe(true);
  };
  const openSocket = async (i: number) => {
    sockets[i]?.ev.emit('connection.update', { connection: 'open' });
    await vi.advanceTimersByTimeAsync(0);
  };
  const queuedSend = async (sessionIndex = 0) => {
    const record = records[sessionIndex] as (typeof records)[number];
    const message = aMessage({ sessionId: record.sessionId, tenantId: record.tenantId });
    await messages.putIfAbsent(message);
    const command: SendCommand = {
      v: 1,
      type: 'send',
      sessionId: record.sessionId,
      commandId: message.messageId,
      messageId: message.messageId,
      to: message.to,
      text: message.text,
    };
    queue.push(command);
    return message;
  };
  return {
    supervisor,
    sessions,
    messages,
    leases,
    metrics,
    queue,
    records,
    shard,
    startAndResume,
    openSocket,
    queuedSend,
  };
};

describe('a lease loss in the runner (the lease keeper itself: lease-keeper.test.ts)', () => {
  it("halts the shard's sockets at the safety margin before expiry when renewals keep failing, writing nothing", async () => {
    const { leases, sessions, records, metrics, shard, startAndResume, openSocket } = setup();
    await startAndResume();
    await openSocket(0);
    leases.renew = async () => {
      throw new Error('DynamoDB unavailable');
    };
    const expiresAt = (await leases.get(0))?.expiresAt as number;
    const margin = expiresAt - LEASE_MS / 6;
    await vi.advanceTimersByTimeAsync(margin - Date.now() - 1);
    expect(shard().sessions).toBe(1); // still within the lease
    expect(sockets[0]?.ended).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(shard()).toEqual({ shard: 0, fence: undefined, sessions: 0 });
    expect(sockets[0]?.ended).toBe(true);
    expect(metrics).toContain('LeaseLost');
    // Halted, not stopped: the status stays for the next owner, no DISCONNECTED from a loser.
    expect((await sessions.get((records[0] as { sessionId: string }).sessionId))?.status).toBe('CONNECTED');
    // Nobody else took it: once the lease expired, this runner takes it again under a new fence.
    await vi.advanceTimersByTimeAsync(expiresAt - Date.now() + LEASE_MS / 3);
    expect(shard().fence).toBe(2);
  });

  it('beats every heartbeatMs on the injected timers: the metric and runnerSeenAt of each session', async () => {
    const { sessions, records, metrics, startAndResume } = setup({ sessions: 2, heartbeatMs: 10_000 });
    await startAndResume();
    const seen = async () =>
      Promise.all(records.map(async (r) => (await sessions.get(r.sessionId))?.runnerSeenAt));
    const stamped = await seen(); // the takeover stamp
    await vi.advanceTimersByTimeAsync(10_000 - 11);
    expect(metrics.filter((m) => m === 'RunnerHeartbeat')).toHaveLength(0);
    expect(await seen()).toEqual(stamped);
    await vi.advanceTimersByTimeAsync(1);
    expect(metrics.filter((m) => m === 'RunnerHeartbeat')).toHaveLength(1);
    expect(await seen()).toEqual(records.map(() => new Date(Date.now()).toISOString()));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(metrics.filter((m) => m === 'RunnerHeartbeat')).toHaveLength(3);
  });
});

describe('draining on SIGTERM', () => {
  it('finishes the send in flight, gives back a send still waiting, closes the sockets and releases the lease within 30 s', async () => {
    const { supervisor, messages, leases, queue, startAndResume, openSocket, queuedSend } = setup({
      sessions: 2,
    });
    await startAndResume();
    await openSocket(0); // the second session never connects
    (sockets[0] as FakeSocket).sendDelayMs = 4_000;
    const inFlight = await queuedSend(0);
    const waiting = await queuedSend(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(sockets[0]?.sending).toBe(1);

    const started = Date.now();
    let drained = false;
    const shutdown = supervisor.shutdown().then(() => {
      drained = true;
    });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(drained).toBe(false); // the send in flight is awaited
    await vi.advanceTimersByTimeAsync(28_000);
    await shutdown;
    expect(drained).toBe(true);
    expect(Date.now() - started).toBeLessThanOrEqual(30_000);

    expect((await messages.get(inFlight.messageId))?.status).toBe('SENT');
    expect(queue.deleted).toContain(inFlight.messageId);
    // Left for the next runner: not FAILED, not deleted, given back to the queue.
    expect((await messages.get(waiting.messageId))?.status).toBe('QUEUED');
    expect(queue.deleted).not.toContain(waiting.messageId);
    expect(queue.givenBack).toContain(waiting.messageId);
    expect(sockets.every((s) => s.ended)).toBe(true);
    expect(await leases.acquire(0, 'r2', Date.now(), LEASE_MS)).toMatchObject({ fence: 2 });
    expect(supervisor.status()[0]).toMatchObject({ fence: undefined, sessions: 0 });
  });
});

describe('reconnect backoff', () => {
  it('reconnects after delays that grow from the base, stay within the cap, and carry jitter', async () => {
    const sessions = new InMemorySessionStore();
    const record = aSession({ status: 'CONNECTING' });
    await sessions.create(record);
    const jitter = [1, 0, 0.5, 1, 0, 1, 0.5, 0.25];
    let draws = 0;
    const backoff = { baseMs: 1_000, capMs: 16_000, random: () => jitter[draws++ % jitter.length] as number };
    const session = new WhatsAppSession(record, 1, {
      sessions,
      messages: new InMemoryMessageStore(),
      objects: new InMemoryObjectStore(),
      publishIncoming: async () => undefined,
      metrics: () => undefined,
      logger,
      timers,
      now: Date.now,
      waWebSocketUrl: 'ws://127.0.0.1:1',
      sendMinIntervalMs: 0,
      backoff,
    });
    await session.start();
    const delays: number[] = [];
    for (let attempt = 0; attempt < jitter.length; attempt++) {
      const sock = sockets.at(-1) as FakeSocket;
      sock.ws.emit('frame'); // it reached WhatsApp; the connection was lost (428)
      const closedAt = Date.now();
      sock.ev.emit('connection.update', {
        connection: 'close',
        lastDisconnect: { error: new Boom('Connection Closed', { statusCode: 428 }), date: new Date() },
      });
      const before = sockets.length;
      const exponential = Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt);
      await vi.advanceTimersByTimeAsync(exponential / 2 - 1);
      expect(sockets.length, `attempt ${attempt}: not before half the delay`).toBe(before);
      await vi.advanceTimersByTimeAsync(exponential / 2 + 1);
      expect(sockets.length, `attempt ${attempt}: by the full delay`).toBe(before + 1);
      delays.push((sockets.at(-1) as FakeSocket).createdAt - closedAt);
    }
    // base·2^n, times 0.5 + jitter/2, capped at 16 s.
    expect(delays).toEqual([1_000, 1_000, 3_000, 8_000, 8_000, 16_000, 12_000, 10_000]);
    // A connection lost right after it opened does not start again from the base (no hammering).
    const lost428 = { error: new Boom('Connection Closed', { statusCode: 428 }), date: new Date() };
    (sockets.at(-1) as FakeSocket).ev.emit('connection.update', { connection: 'open' });
    await vi.advanceTimersByTimeAsync(0);
    (sockets.at(-1) as FakeSocket).ev.emit('connection.update', {
      connection: 'close',
      lastDisconnect: lost428,
    });
    const flapped = sockets.length;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets.length).toBe(flapped);
    await vi.advanceTimersByTimeAsync(16_000);
    expect(sockets.length).toBe(flapped + 1);
    // Once open for a while (30 s), the next loss starts again from the base.
    (sockets.at(-1) as FakeSocket).ev.emit('connection.update', { connection: 'open' });
    await vi.advanceTimersByTimeAsync(30_000);
    (sockets.at(-1) as FakeSocket).ev.emit('connection.update', {
      connection: 'close',
      lastDisconnect: { error: new Boom('Connection Closed', { statusCode: 428 }), date: new Date() },
    });
    const count = sockets.length;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets.length).toBe(count + 1);
    session.halt();
  });
});

describe('the send sweeper in the runner', () => {
  it('runs while the shard is held: started with its fence, stopped on loss, started again under the new fence', async () => {
    const sweepers: { fence: () => number | undefined; stopped: boolean }[] = [];
    const { leases, shard, startAndResume } = setup({
      sweepSends: (_shard, fence) => {
        const sweeper = {
          fence,
          stopped: false,
          stop: () => {
            sweeper.stopped = true;
          },
        };
        sweepers.push(sweeper);
        return sweeper;
      },
    });
    await startAndResume();
    expect(sweepers).toHaveLength(1);
    expect(sweepers[0]?.fence()).toBe(1);
    const renew = leases.renew.bind(leases);
    leases.renew = async () => undefined; // refused once: lost
    await vi.advanceTimersByTimeAsync(LEASE_MS / 3);
    expect(shard().fence).toBeUndefined();
    expect(sweepers[0]).toMatchObject({ stopped: true });
    expect(sweepers[0]?.fence()).toBeUndefined();
    leases.renew = renew;
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expect(shard().fence).toBe(2);
    expect(sweepers).toHaveLength(2);
    expect(sweepers[1]?.fence()).toBe(2);
  });

  it('sends a message whose command was lost, under the WhatsApp id of its messageId, exactly once', async () => {
    let sweeper: SendSweeper | undefined;
    const ctx = setup({
      sweepSends: (shardNo, fence) => {
        sweeper = new SendSweeper({
          shard: shardNo,
          sessions: ctx.sessions,
          messages: ctx.messages,
          commands: { publish: async (_shard, command) => void ctx.queue.push(command) },
          fence,
          now: Date.now,
          timers,
          logger,
        });
        sweeper.start();
        return sweeper;
      },
    });
    const { messages, records, startAndResume, openSocket } = ctx;
    await startAndResume();
    await openSocket(0);
    const record = records[0] as (typeof records)[number];
    // Accepted (QUEUED), but its command never reached the queue.
    const lost = aMessage({
      sessionId: record.sessionId,
      tenantId: record.tenantId,
      createdAt: new Date(Date.now()).toISOString(),
    });
    await messages.putIfAbsent(lost);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(sockets[0]?.sent).toEqual([]); // not yet: its command may still be on its way
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(sockets[0]?.sent).toEqual([waMessageIdFor(lost.messageId)]);
    expect((await messages.get(lost.messageId))?.status).toBe('SENT');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sockets[0]?.sent).toHaveLength(1);
  });
});
