import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SendCommand } from '#shared/contracts/commands.ts';
import type { Session } from '#shared/domain/entities.ts';
import { createLogger } from '#shared/logger.ts';
import type { Lease } from '#shared/ports/lease-store.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { InMemoryLeaseStore } from '#shared/testing/in-memory-lease-store.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { RUNNER_UNAVAILABLE, withRunnerLiveness } from '#shared/use-cases/session-liveness.ts';
import type { CommandResult } from './command-consumer.ts';
import type { RunnerMetric } from './metrics.ts';
import type { SendOutcome, SessionContext, Timers } from './session.ts';
import type { EndedHow } from './session-life-cycle.ts';
import type { SessionHooks, ShardSession } from './shard-sessions.ts';
import { ShardSessions } from './shard-sessions.ts';

// The sessions of one shard on fake timers: the takeover (fence stamp, resume, retry of failed opens),
// a send waiting for its session, a drain and a lease loss. WhatsApp is out of the picture: a session
// is a fake the test connects; the real one is exercised by the runner's integration tests.

const logger = createLogger('test');
logger.setLogLevel('SILENT');

const LEASE_MS = 30_000;
const SEND_WAIT_MS = 20_000;
/** The default give-up bound of a send whose session is still coming up, from the message's acceptance. */
const SEND_GIVE_UP_MS = 120_000;

const timers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A session without a socket: `connect()` is WhatsApp answering; sends go out only while connected. */
class FakeSession implements ShardSession {
  ended = false;
  endedHow: EndedHow | undefined = undefined;
  connected = false;
  /** Showing a QR: waiting for a person, not coming up by itself. */
  showingQr = false;
  halted = false;
  shutDown = false;
  stoppedWith?: boolean;
  readonly sent: string[] = [];
  private waiters: (() => void)[] = [];

  constructor(
    readonly record: Session,
    readonly fence: number,
    readonly hooks: SessionHooks,
    private readonly failStart: boolean,
  ) {}

  get sessionId(): string {
    return this.record.sessionId;
  }

  get state(): ShardSession['state'] {
    if (this.ended) return 'ended';
    if (this.connected) return 'open';
    return this.showingQr ? 'qr' : 'connecting';
  }

  async start(): Promise<void> {
    if (this.failStart) throw new Error('auth state unreadable');
  }

  connect(): void {
    this.connected = true;
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== onOpen);
        resolve(false);
      }, timeoutMs);
      const onOpen = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(onOpen);
    });
  }

  async send(command: SendCommand): Promise<SendOutcome> {
    if (!this.connected) return 'not_connected';
    this.sent.push(command.messageId);
    return 'sent';
  }

  /** WhatsApp ended it (440 replaced, 401 logged out): its close recorded (or not), the shard told. */
  closedByWhatsApp(): void {
    this.ended = true;
    this.endedHow = 'closed';
    this.connected = false;
    this.hooks.onEnded(this);
  }

  async stop(logout: boolean): Promise<void> {
    this.ended = true;
    this.endedHow = 'stopped';
    this.stoppedWith = logout;
    this.hooks.onEnded(this);
  }

  async shutdown(): Promise<void> {
    this.ended = true;
    this.endedHow = 'shutdown';
    this.shutDown = true;
  }

  halt(): void {
    this.ended = true;
    this.endedHow = 'halted';
    this.halted = true;
    this.connected = false;
  }

  checkSilence(): boolean {
    return false;
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(Date.parse('2026-01-01T12:00:00.000Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

const setup = (records: Session[], o: { failStarts?: number; resumeConcurrency?: number } = {}) => {
  const sessions = new InMemorySessionStore();
  for (const r of records) sessions.items.set(r.sessionId, { ...r });
  const writes: string[] = [];
  for (const method of ['touch', 'transition'] as const) {
    const real = sessions[method].bind(sessions) as (...args: unknown[]) => Promise<unknown>;
    (sessions as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      writes.push(`${method} ${String(args[0])}`);
      return real(...args);
    };
  }
  const messages = new InMemoryMessageStore();
  const leases = new InMemoryLeaseStore();
  const metrics: RunnerMetric[] = [];
  const opened: FakeSession[] = [];
  let failStarts = o.failStarts ?? 0;
  const grant: { lease?: Lease; holds(): boolean } = {
    holds: () => grant.lease !== undefined,
  };
  const ctx: SessionContext = {
    sessions,
    messages,
    objects: new InMemoryObjectStore(),
    publishIncoming: async () => undefined,
    metrics: (name) => void metrics.push(name),
    logger,
    timers,
    now: Date.now,
    waWebSocketUrl: 'ws://127.0.0.1:1',
    sendMinIntervalMs: 0,
    backoff: { baseMs: 1000, capMs: 60_000 },
  };
  const shard = new ShardSessions({
    shard: 0,
    grant,
    session: ctx,
    sendWaitMs: SEND_WAIT_MS,
    ...(o.resumeConcurrency !== undefined && { resumeConcurrency: o.resumeConcurrency }),
    createSession: (record, fence, hooks) => {
      const session = new FakeSession(record, fence, hooks, failStarts-- > 0);
      opened.push(session);
      return session;
    },
  });
  /** This runner takes the shard (fence 1) and the sessions are resumed. */
  const takeOver = async () => {
    grant.lease = (await leases.acquire(0, 'r1', Date.now(), LEASE_MS)) as Lease;
    // Not awaited: with a failed open, the resume goes on retrying it while the shard is held.
    void shard.resume(grant.lease);
    await vi.advanceTimersByTimeAsync(0);
    return grant.lease;
  };
  const session = (sessionId: string) => opened.findLast((s) => s.sessionId === sessionId) as FakeSession;
  const queuedSend = async (record: Session) => {
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
    let result: CommandResult | undefined;
    const handled = shard.handle(command).then((r) => {
      result = r;
      return r;
    });
    return { message, handled, result: () => result };
  };
  return { shard, grant, sessions, messages, leases, metrics, writes, opened, session, takeOver, queuedSend };
};

describe('the takeover of a shard', () => {
  it('stamps its fence on every session, reopens the resumable ones, and is ready only then', async () => {
    const connected = aSession({ status: 'CONNECTED', fence: 0 });
    const qr = aSession({ status: 'QR_READY', fence: 0 });
    const stopped = aSession({ status: 'DISCONNECTED', desiredState: 'stopped', fence: 0 });
    const { shard, sessions, opened, takeOver } = setup([connected, qr, stopped]);
    expect(shard.resumedUnder(1)).toBe(false);
    await takeOver();
    expect(shard.resumedUnder(1)).toBe(true);
    expect(opened.map((s) => s.sessionId).sort()).toEqual([connected.sessionId, qr.sessionId].sort());
    expect(opened.every((s) => s.fence === 1)).toBe(true);
    for (const r of [connected, qr, stopped]) expect((await sessions.get(r.sessionId))?.fence).toBe(1);
    expect((await sessions.get(stopped.sessionId))?.status).toBe('DISCONNECTED');
  });

  it('shows a session the previous owner left CONNECTED as CONNECTING under the new fence, in the stamp itself', async () => {
    const records = Array.from({ length: 3 }, (_, i) =>
      aSession({
        status: 'CONNECTED',
        fence: 0,
        chatbotId: `bot-${i}`,
        connectedAt: '2026-01-01T11:00:00.000Z',
      }),
    );
    const { sessions, leases, writes, session, takeOver } = setup(records, { resumeConcurrency: 1 });
    await takeOver();
    const clock = { now: () => new Date(Date.now()) };
    for (const r of records) {
      const stored = (await sessions.get(r.sessionId)) as Session;
      // Not reconnected yet (the fake waits for connect()): the truth is CONNECTING, and the shard
      // is held, so the read path shows it as it is, without RUNNER_UNAVAILABLE.
      expect(session(r.sessionId).connected).toBe(false);
      expect(stored).toMatchObject({
        status: 'CONNECTING',
        fence: 1,
        updatedAt: new Date(Date.now()).toISOString(),
      });
      const seen = await withRunnerLiveness({ leases, clock }, stored);
      expect(seen.status).toBe('CONNECTING');
      expect(seen.lastError).not.toBe(RUNNER_UNAVAILABLE);
    }
    // One write per session: the stamp carries the status.
    expect(writes.sort()).toEqual(records.map((r) => `touch ${r.sessionId}`).sort());
  });

  it('shows a session the previous owner left QR_READY as CONNECTING without its QR, in the stamp itself', async () => {
    const record = aSession({
      status: 'QR_READY',
      fence: 0,
      qr: 'old-owner-qr',
      qrExpiresAt: '2026-01-01T12:00:50.000Z',
      pairingCode: 'ABCD1234',
    });
    const { sessions, writes, session, takeOver } = setup([record]);
    await takeOver();
    expect(session(record.sessionId).connected).toBe(false); // not reconnected yet
    const stored = (await sessions.get(record.sessionId)) as Session;
    expect(stored).toMatchObject({ status: 'CONNECTING', fence: 1 });
    expect(stored.qr).toBeUndefined();
    expect(stored.qrExpiresAt).toBeUndefined();
    expect(stored.pairingCode).toBeUndefined();
    expect(writes).toEqual([`touch ${record.sessionId}`]);
  });

  it('keeps opening a session whose first open failed, with backoff, while the shard is held', async () => {
    const record = aSession({ status: 'CONNECTING' });
    const { shard, grant, opened, takeOver } = setup([record], { failStarts: 2 });
    const lease = await takeOver();
    expect(shard.resumedUnder(lease.fence)).toBe(true); // a failed open does not hold the shard back
    expect(opened).toHaveLength(1);
    expect(shard.sessions.size).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000); // first retry after 1 s
    expect(opened).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(opened).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1); // then after 2 s more: it opens
    expect(opened).toHaveLength(3);
    expect(shard.sessions.get(record.sessionId)).toBe(opened[2]);
    grant.lease = undefined;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(opened).toHaveLength(3);
  });

  it('halts and forgets a session whose heartbeat is refused (a newer owner wrote to it)', async () => {
    const kept = aSession({ status: 'CONNECTED' });
    const taken = aSession({ status: 'CONNECTED' });
    const { shard, sessions, session, takeOver } = setup([kept, taken]);
    const lease = await takeOver();
    await sessions.touch(taken.sessionId, 2, new Date().toISOString());
    await shard.heartbeat(lease);
    expect(session(taken.sessionId).halted).toBe(true);
    expect([...shard.sessions.keys()]).toEqual([kept.sessionId]);
    expect((await sessions.get(kept.sessionId))?.runnerSeenAt).toBe(new Date().toISOString());
  });
});

describe('a send waiting for its session', () => {
  it('goes out once the session connects within sendWaitMs', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(send.result()).toBeUndefined();
    session(record.sessionId).connect();
    expect(await send.handled).toEqual({ kind: 'done' });
    expect(session(record.sessionId).sent).toEqual([send.message.messageId]);
  });

  it('fails with FAILED SESSION_NOT_CONNECTED after sendWaitMs, not before, when its session waits for a QR scan', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { messages, metrics, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    session(record.sessionId).showingQr = true; // not coming up by itself
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(SEND_WAIT_MS - 1);
    expect(send.result()).toBeUndefined();
    expect((await messages.get(send.message.messageId))?.status).toBe('QUEUED');
    await vi.advanceTimersByTimeAsync(1);
    expect(await send.handled).toEqual({ kind: 'done' });
    expect(await messages.get(send.message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'SESSION_NOT_CONNECTED',
    });
    expect(metrics).toEqual(['CommandsFailed']);
    expect(session(record.sessionId).sent).toEqual([]);
  });

  it('keeps waiting past sendWaitMs while its session is still coming up, and goes out once it connects', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { messages, metrics, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    const send = await queuedSend(record);
    // A takeover on a slow machine: still connecting when the send wait is over.
    await vi.advanceTimersByTimeAsync(3 * SEND_WAIT_MS);
    expect(send.result()).toBeUndefined();
    expect((await messages.get(send.message.messageId))?.status).toBe('QUEUED');
    session(record.sessionId).connect();
    expect(await send.handled).toEqual({ kind: 'done' });
    expect(session(record.sessionId).sent).toEqual([send.message.messageId]);
    expect(metrics).toEqual([]);
  });

  it('fails a send whose session never comes up with FAILED SESSION_NOT_CONNECTED once the message is sendGiveUpMs old', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { messages, metrics, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    const send = await queuedSend(record); // accepted now
    await vi.advanceTimersByTimeAsync(SEND_GIVE_UP_MS - 1);
    expect(send.result()).toBeUndefined();
    expect((await messages.get(send.message.messageId))?.status).toBe('QUEUED');
    await vi.advanceTimersByTimeAsync(1);
    expect(await send.handled).toEqual({ kind: 'done' });
    expect(await messages.get(send.message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'SESSION_NOT_CONNECTED',
    });
    expect(metrics).toEqual(['CommandsFailed']);
    expect(session(record.sessionId).sent).toEqual([]);
  });

  it('goes out on the session reopened after the lease was lost and taken again while it waited', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { shard, grant, leases, opened, session, takeOver, queuedSend } = setup([record]);
    const first = await takeOver();
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(500);
    // Within one wait step: the lease is lost (sessions halted) and this runner takes it again.
    grant.lease = undefined;
    shard.halt();
    await leases.release(first);
    grant.lease = (await leases.acquire(0, 'r1', Date.now(), LEASE_MS)) as Lease;
    void shard.resume(grant.lease);
    await vi.advanceTimersByTimeAsync(0);
    expect(opened).toHaveLength(2);
    session(record.sessionId).connect(); // the new instance connects; the halted one never will
    await vi.advanceTimersByTimeAsync(1_000);
    expect(send.result()).toEqual({ kind: 'done' });
    expect(opened[0]?.sent).toEqual([]);
    expect(opened[1]?.sent).toEqual([send.message.messageId]);
  });

  it('fails at once when its session is closed by WhatsApp while it waits (it does not come back)', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { messages, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(2_000);
    // Logged out: ended, its close still being recorded (not yet out of the registry).
    Object.assign(session(record.sessionId), { ended: true, endedHow: 'closed' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(send.result()).toEqual({ kind: 'done' });
    expect(await messages.get(send.message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'SESSION_NOT_CONNECTED',
    });
  });

  it('fails at once, without reopening the session, when WhatsApp closed it and it already left the registry', async () => {
    // A 440 (replaced) or 401 (logged out) whose DISCONNECTED / LOGGED_OUT write failed: the record
    // still says CONNECTED and running, so a command given back would reopen the session from it.
    const record = aSession({ status: 'CONNECTED' });
    const { shard, sessions, messages, metrics, opened, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(2_000);
    session(record.sessionId).closedByWhatsApp();
    expect(shard.sessions.has(record.sessionId)).toBe(false);
    // No close written: still the takeover's CONNECTING, desired running (a redelivery would reopen it).
    expect(await sessions.get(record.sessionId)).toMatchObject({
      status: 'CONNECTING',
      desiredState: 'running',
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(send.result()).toEqual({ kind: 'done' });
    expect(await messages.get(send.message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'SESSION_NOT_CONNECTED',
    });
    expect(metrics).toEqual(['CommandsFailed']);
    expect(opened).toHaveLength(1);
  });

  it('is given back when its session was halted by a refused heartbeat (handled afresh from the record)', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { shard, sessions, messages, opened, session, takeOver, queuedSend } = setup([record]);
    const lease = await takeOver();
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(2_000);
    // A newer owner wrote to the session: this runner's heartbeat is refused.
    await sessions.touch(record.sessionId, lease.fence + 1, new Date().toISOString());
    await shard.heartbeat(lease);
    expect(session(record.sessionId).endedHow).toBe('halted');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(send.result()).toEqual({ kind: 'retry', afterSeconds: 1 });
    expect((await messages.get(send.message.messageId))?.status).toBe('QUEUED');
    expect(opened).toHaveLength(1);
  });

  it('is given back at once on a drain (for the next owner), the message left QUEUED', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { shard, messages, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(5_000);
    shard.drain();
    await vi.advanceTimersByTimeAsync(1_000); // noticed within one wait step
    expect(send.result()).toEqual({ kind: 'retry', afterSeconds: 0 });
    expect((await messages.get(send.message.messageId))?.status).toBe('QUEUED');
    expect(session(record.sessionId).sent).toEqual([]);
    // A command arriving while draining is given back without a look.
    const later = await queuedSend(record);
    expect(await later.handled).toEqual({ kind: 'retry', afterSeconds: 0 });
  });

  it('is given back on a lease loss, which halts every session of the shard', async () => {
    const records = [aSession({ status: 'CONNECTED' }), aSession({ status: 'CONNECTING' })];
    const { shard, grant, messages, opened, takeOver, queuedSend } = setup(records);
    await takeOver();
    const sends = await Promise.all(records.map((r) => queuedSend(r)));
    await vi.advanceTimersByTimeAsync(5_000);
    // What the supervisor does on `lost`.
    grant.lease = undefined;
    shard.halt();
    expect(opened.every((s) => s.halted)).toBe(true);
    expect(shard.sessions.size).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    for (const send of sends) {
      expect(send.result()).toEqual({ kind: 'retry', afterSeconds: 5 });
      expect((await messages.get(send.message.messageId))?.status).toBe('QUEUED');
    }
    const later = await queuedSend(records[0] as Session);
    expect(await later.handled).toEqual({ kind: 'retry', afterSeconds: 5 });
  });
});

describe('start and stop commands', () => {
  it('stops a running session and forgets it, so a later start opens a new one', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { shard, opened, takeOver } = setup([record]);
    await takeOver();
    const stop = { v: 1, type: 'stop', sessionId: record.sessionId, commandId: 'c1', logout: false } as const;
    expect(await shard.handle(stop)).toEqual({ kind: 'done' });
    expect(opened[0]?.stoppedWith).toBe(false);
    expect(shard.sessions.size).toBe(0);
    await shard.handle({ v: 1, type: 'start', sessionId: record.sessionId, commandId: 'c2' });
    expect(opened).toHaveLength(2);
    expect(shard.sessions.get(record.sessionId)).toBe(opened[1]);
  });

  it('writes DISCONNECTED under its fence for a stop of a session it does not run', async () => {
    const record = aSession({ status: 'QR_READY', desiredState: 'stopped', qr: 'old-qr' });
    const { shard, sessions, takeOver } = setup([record]);
    await takeOver();
    await shard.handle({ v: 1, type: 'stop', sessionId: record.sessionId, commandId: 'c1', logout: false });
    const stored = await sessions.get(record.sessionId);
    expect(stored).toMatchObject({ status: 'DISCONNECTED', fence: 1 });
    expect(stored?.qr).toBeUndefined();
  });

  it('shuts every session down on shutdown, leaving their statuses for the next owner', async () => {
    const records = [aSession({ status: 'CONNECTED' }), aSession({ status: 'CONNECTED' })];
    const { shard, writes, opened, session, takeOver } = setup(records);
    await takeOver();
    for (const r of records) session(r.sessionId).connect();
    const before = writes.length;
    await shard.shutdown();
    expect(opened.every((s) => s.shutDown && !s.halted)).toBe(true);
    expect(shard.sessions.size).toBe(0);
    expect(writes).toHaveLength(before); // no status written by the runner leaving
  });
});

describe('the session record a command reads', () => {
  it('a send to a session running here goes out without reading the session record', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { sessions, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    session(record.sessionId).connect();
    const reads = vi.spyOn(sessions, 'get');
    const send = await queuedSend(record);
    expect(await send.handled).toEqual({ kind: 'done' });
    expect(session(record.sessionId).sent).toEqual([send.message.messageId]);
    expect(reads).not.toHaveBeenCalled();
  });

  it('a send to a session not running here reads its record (a stopped one is not opened for it)', async () => {
    const record = aSession({ status: 'DISCONNECTED', desiredState: 'stopped' });
    const { sessions, messages, opened, takeOver, queuedSend } = setup([record]);
    await takeOver();
    const reads = vi.spyOn(sessions, 'get');
    const send = await queuedSend(record);
    expect(await send.handled).toEqual({ kind: 'done' });
    expect(reads).toHaveBeenCalledWith(record.sessionId);
    expect(opened).toHaveLength(0);
    expect((await messages.get(send.message.messageId))?.status).toBe('FAILED');
  });

  it('a send after the session was deleted here reads the record, finds none, and sends nothing', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { shard, sessions, session, takeOver, queuedSend } = setup([record]);
    await takeOver();
    session(record.sessionId).connect();
    await sessions.transition(record.sessionId, { to: 'DELETING', now: new Date().toISOString() });
    const del = { v: 1, type: 'delete', sessionId: record.sessionId, commandId: 'c1', purge: false } as const;
    expect(await shard.handle(del)).toEqual({ kind: 'done' });
    expect(await sessions.get(record.sessionId)).toBeUndefined();
    const reads = vi.spyOn(sessions, 'get');
    const send = await queuedSend(record);
    expect(await send.handled).toEqual({ kind: 'done' });
    expect(reads).toHaveBeenCalledWith(record.sessionId);
    expect(session(record.sessionId).sent).toEqual([]);
  });

  it('a send to a session halted by a refused heartbeat reads the record again', async () => {
    const record = aSession({ status: 'CONNECTED' });
    const { shard, sessions, session, takeOver, queuedSend } = setup([record]);
    const lease = await takeOver();
    session(record.sessionId).connect();
    // A newer owner wrote to the session: our heartbeat is refused and the session let go.
    await sessions.touch(record.sessionId, lease.fence + 1, new Date().toISOString());
    await shard.heartbeat(lease);
    expect(shard.sessions.size).toBe(0);
    const reads = vi.spyOn(sessions, 'get');
    const send = await queuedSend(record);
    await vi.advanceTimersByTimeAsync(SEND_GIVE_UP_MS); // the reopened session never connects
    await send.handled;
    expect(reads).toHaveBeenCalledWith(record.sessionId);
    expect(session(record.sessionId).sent).toEqual([]);
  });
});
