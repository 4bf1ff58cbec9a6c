import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Command, DeleteCommand, SendCommand } from '#shared/contracts/commands.ts';
import type { Session } from '#shared/domain/entities.ts';
import type { Lease, LeaseStore } from '#shared/ports/lease-store.ts';
import { DurableAuthState } from './auth-state/durable-auth-state.ts';
import { CommandConsumer, type CommandResult } from './command-consumer.ts';
import { SPOOL_ROOT } from './incoming-spool.ts';
import { type SessionContext, WhatsAppSession } from './session.ts';

export interface SupervisorOptions {
  runnerId: string;
  shards: number[];
  commandQueueUrls: readonly string[];
  sqs: SQSClient;
  leases: LeaseStore;
  leaseDurationMs: number;
  /** Pause of each resume lane between two session starts, so a takeover does not storm WhatsApp. */
  staggerMs?: number;
  /** Sessions a new owner opens at the same time when it resumes a shard. */
  resumeConcurrency?: number;
  /** Bound of one lease call: a hung call is given up and the lease loop goes on. */
  leaseCallTimeoutMs?: number;
  /**
   * How often a runner that holds no lease of a shard tries to take it (default 2 s, at most a third
   * of the lease): a lease released by a draining runner is taken within seconds in a deploy.
   */
  acquireRetryMs?: number;
  heartbeatMs?: number;
  /** How long a send waits for its session to (re)connect before it fails. */
  sendWaitMs?: number;
  receiveWaitSeconds?: number;
  /** Deletes a session's conversations and messages (a `delete` command with `purge`). */
  purgeSessionMessages?: (sessionId: string) => Promise<void>;
  session: SessionContext;
  /** Started per held shard: re-enqueues its sends that never left (send-sweeper.ts); stopped on loss. */
  sweepSends?: (shard: number, fence: () => number | undefined) => { stop(): void };
}

/** Statuses whose sessions a runner reopens by itself after a restart (the others wait for a start command). */
const RESUMABLE = new Set(['CONNECTING', 'QR_READY', 'CONNECTED']);
/** A session stopped because WhatsApp refused the client version comes back once a new runner starts. */
const resumable = (s: Session) =>
  s.desiredState === 'running' && (RESUMABLE.has(s.status) || s.lastError === 'CLIENT_VERSION_REJECTED');

const RETRY_BASE_MS = 500;
const RETRY_CAP_MS = 15_000;
/** Default pause between two attempts to acquire a lease this runner does not hold. */
const ACQUIRE_RETRY_MS = 2_000;
/** Shortest pause between two renewals of a lease still held after one failed, and shortest bound of one. */
const MIN_RENEW_RETRY_MS = 100;

/** Rejects when `work` takes longer than `ms` (the work itself cannot be cancelled; its result is ignored). */
const within = <T>(
  timers: SessionContext['timers'],
  ms: number,
  what: string,
  work: Promise<T>,
): Promise<T> => {
  let handle: unknown;
  const timeout = new Promise<never>((_, reject) => {
    handle = timers.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => timers.clearTimeout(handle));
};

/** One shard this runner tries to hold: its lease, its command consumer, its sessions. */
class ShardWorker {
  lease?: Lease;
  readonly sessions = new Map<string, WhatsAppSession>();
  private consumer?: CommandConsumer;
  private sweeper?: { stop(): void };
  private timer?: NodeJS.Timeout;
  /** Fires when the lease is about to run out without a renewal: the sockets go at once. */
  private expiryTimer?: NodeJS.Timeout;
  private stopped = false;
  /** SIGTERM: no new work; sends waiting for a connection give their command back. */
  private draining = false;
  /** The fence under which every resumable session of the shard was opened (or tried once). */
  private resumedFence?: number;

  constructor(
    readonly shard: number,
    private readonly o: SupervisorOptions,
  ) {}

  /** Whether this runner may still act for the shard: lease held and not about to run out. */
  holds = (): boolean => this.lease !== undefined && this.o.session.now() < this.marginOf(this.lease);

  /** When the sockets of a lease must be gone: a sixth of the lease before it expires. */
  private marginOf(lease: Lease): number {
    return lease.expiresAt - this.o.leaseDurationMs / 6;
  }

  /** False while the shard is held but its sessions are not resumed yet (`/healthz` answers 503). */
  ready = (): boolean => this.lease === undefined || this.resumedFence === this.lease.fence;

  start(): void {
    void this.tick();
  }

  /**
   * SIGTERM: finish what is in flight, flush every session, release the lease. The lease keeps being
   * renewed until the sockets are closed, so it never lapses while this runner still holds them.
   */
  async shutdown(): Promise<void> {
    this.draining = true;
    this.sweeper?.stop();
    // The receive under way ends by itself (its wait) and gives back what it brings, meanwhile the
    // sockets close once the commands in flight are done.
    const stopping = this.consumer?.stop();
    await this.consumer?.idle();
    await Promise.allSettled([...this.sessions.values()].map((s) => s.shutdown()));
    await stopping;
    this.sessions.clear();
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.expiryTimer);
    if (this.lease) await this.o.leases.release(this.lease).catch(() => undefined);
    this.lease = undefined;
  }

  /** Arms the timer that drops the shard's sockets if no renewal comes before the safety margin. */
  private armExpiry(lease: Lease): void {
    clearTimeout(this.expiryTimer);
    const ms = this.marginOf(lease) - this.o.session.now();
    this.expiryTimer = setTimeout(
      () => {
        if (this.lease === lease) this.lose('no renewal before expiry');
      },
      Math.max(0, ms),
    );
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), ms);
  }

  /** Acquire or renew the lease; on loss, stop every socket of the shard at once. */
  private async tick(): Promise<void> {
    const now = this.o.session.now();
    let failed = false;
    try {
      if (this.lease && !this.holds()) this.lose('expired before renewal');
      if (this.lease) {
        const held = this.lease;
        // At most half the time left before the margin: a renewal that hangs through an outage
        // leaves room for another one once the store is back (r4 lost the shard that way).
        const renewed = await this.leaseCall(
          'lease renewal',
          this.o.leases.renew(held, now, this.o.leaseDurationMs),
          Math.max(MIN_RENEW_RETRY_MS, (this.marginOf(held) - now) / 2),
        );
        if (this.lease !== held) {
          // lost (expiry timer) while the renewal was under way: nothing to do
        } else if (renewed) {
          this.lease = renewed;
          this.armExpiry(renewed);
        } else {
          this.lose('renewal refused');
        }
      } else {
        const lease = await this.leaseCall(
          'lease acquisition',
          this.o.leases.acquire(this.shard, this.o.runnerId, now, this.o.leaseDurationMs),
        );
        if (lease) await this.take(lease);
      }
    } catch (error) {
      failed = true;
      this.o.session.logger.warn('lease call failed', { shard: this.shard, error: (error as Error).message });
    }
    // A held lease is renewed at a third of its duration; a free or foreign one, or a renewal that
    // failed, is retried sooner. Counted from the start of this tick: a renewal that hung up to its
    // bound must not push the next one past the safety margin (one slow call would drop the shard).
    const renewEvery = this.o.leaseDurationMs / 3;
    const retry = Math.min(this.o.acquireRetryMs ?? ACQUIRE_RETRY_MS, renewEvery);
    let interval = this.lease && !failed ? renewEvery : retry;
    // A failed renewal of a lease still held is retried in steps of a quarter of the time left
    // before the margin, so the last tries fall just before it: a fixed 2 s step left an outage
    // that ended a second before the margin to cost the shard (r4, 4 s outage, 10 s lease).
    if (this.lease && failed)
      interval = Math.min(retry, Math.max(MIN_RENEW_RETRY_MS, (this.marginOf(this.lease) - now) / 4));
    this.schedule(Math.max(0, interval - (this.o.session.now() - now)));
  }

  /** A lease call bounded in time: a hung call must not stop the lease loop for good. */
  private leaseCall<T>(what: string, call: Promise<T>, boundMs = Number.POSITIVE_INFINITY): Promise<T> {
    const configured = this.o.leaseCallTimeoutMs ?? this.o.leaseDurationMs / 3;
    return within(this.o.session.timers, Math.min(configured, boundMs), what, call);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.o.session.timers.setTimeout(() => r(), ms));
  }

  private async take(lease: Lease): Promise<void> {
    if (this.draining) {
      await this.o.leases.release(lease);
      return;
    }
    this.lease = lease;
    this.armExpiry(lease);
    this.o.session.logger.info('shard lease acquired', { shard: this.shard, fence: lease.fence });
    this.consumer = new CommandConsumer({
      sqs: this.o.sqs,
      queueUrl: this.o.commandQueueUrls[this.shard] as string,
      handle: (command) => this.handle(command),
      logger: this.o.session.logger,
      waitSeconds: this.o.receiveWaitSeconds,
    });
    this.consumer.start();
    this.sweeper = this.o.sweepSends?.(this.shard, () =>
      this.holds() && this.lease?.fence === lease.fence ? lease.fence : undefined,
    );
    void this.resumeShard(lease);
  }

  /**
   * Lists the shard's sessions (retried with backoff until it works or the lease is gone: a failed
   * listing must not leave the shard offline), stamps the new fence on all of them, and reopens the
   * resumable ones; then the shard counts as ready.
   */
  private async resumeShard(lease: Lease): Promise<void> {
    for (let attempt = 0; this.lease?.fence === lease.fence; attempt++) {
      let records: Session[];
      try {
        records = await this.o.session.sessions.listByShard(this.shard);
      } catch (error) {
        this.o.session.logger.warn('listing the shard sessions failed: retrying', {
          shard: this.shard,
          attempt,
          error: error instanceof Error ? error.message : String(error),
        });
        await this.sleep(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 10)));
        continue;
      }
      // Stamp the new fence on every session of the shard first: from here on, a late write of the
      // previous owner is refused even for sessions this runner has not reopened yet.
      const now = new Date(this.o.session.now()).toISOString();
      await Promise.all(
        records.map((r) =>
          // With its listing keys: a session stored before GET /sessions existed joins the list.
          this.o.session.sessions.touch(r.sessionId, lease.fence, now, r).catch(() => false),
        ),
      );
      const failed = await this.resume(records.filter(resumable), lease);
      if (this.lease?.fence !== lease.fence) return;
      await this.recoverOrphanSpools(records.filter((r) => !resumable(r)));
      this.resumedFence = lease.fence;
      this.o.session.logger.info('shard resumed', { shard: this.shard, sessions: records.length });
      await this.retryFailed(failed, lease);
      return;
    }
  }

  /**
   * Incoming messages a crashed runner spooled for sessions that are not reopened now (stopped since)
   * are redriven too: one listing of the whole spool, usually empty.
   */
  private async recoverOrphanSpools(notResumed: Session[]): Promise<void> {
    const recover = this.o.session.recoverIncoming;
    if (!recover || notResumed.length === 0) return;
    try {
      const spooled = new Set((await this.o.session.objects.list(SPOOL_ROOT)).map((k) => k.split('/')[1]));
      await Promise.all(notResumed.filter((r) => spooled.has(r.sessionId)).map((r) => recover(r.sessionId)));
    } catch (error) {
      this.o.session.logger.warn('listing the incoming spool failed', {
        shard: this.shard,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Opens sessions a bounded number at a time; returns those that failed to open. */
  private async resume(records: Session[], lease: Lease): Promise<Session[]> {
    const queue = [...records];
    const failed: Session[] = [];
    const lane = async () => {
      for (let record = queue.shift(); record && this.lease?.fence === lease.fence; record = queue.shift()) {
        try {
          await this.open(record);
        } catch (error) {
          this.warn(record.sessionId, 'resume failed', error);
          failed.push(record);
        }
        if (this.o.staggerMs) await this.sleep(this.o.staggerMs);
      }
    };
    const lanes = Math.max(1, this.o.resumeConcurrency ?? 16);
    await Promise.all(Array.from({ length: Math.min(lanes, queue.length) }, lane));
    return failed;
  }

  /** Sessions that failed to open at takeover (auth state unreadable for a while) keep being retried. */
  private async retryFailed(failed: Session[], lease: Lease): Promise<void> {
    for (let attempt = 0; failed.length > 0 && this.lease?.fence === lease.fence; attempt++) {
      await this.sleep(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt + 1, 10)));
      if (this.lease?.fence !== lease.fence) return;
      const current = await Promise.all(
        failed.map((r) => this.o.session.sessions.get(r.sessionId).catch(() => r)),
      );
      failed = await this.resume(
        current.flatMap((r) => (r && r.shard === this.shard && resumable(r) ? [r] : [])),
        lease,
      );
    }
  }

  private lose(reason: string): void {
    this.o.session.logger.warn('shard lease lost: stopping its sessions', { shard: this.shard, reason });
    this.o.session.metrics('LeaseLost');
    clearTimeout(this.expiryTimer);
    this.sweeper?.stop();
    this.sweeper = undefined;
    for (const session of this.sessions.values()) session.halt();
    this.sessions.clear();
    void this.consumer?.stop();
    this.consumer = undefined;
    this.lease = undefined;
  }

  /** The running session, or a new one opened from its record. */
  private async open(record: Session): Promise<WhatsAppSession> {
    const running = this.sessions.get(record.sessionId);
    if (running && !running.ended) return running;
    const lease = this.lease;
    if (!lease || !this.holds()) throw new Error('shard not held');
    const session: WhatsAppSession = new WhatsAppSession(record, lease.fence, this.o.session, {
      // Tied to this grant and this instance: after a loss and a new grant, an old instance stays down.
      mayAct: () =>
        this.holds() && this.lease?.fence === lease.fence && this.sessions.get(record.sessionId) === session,
      onEnded: (ended) => {
        if (this.sessions.get(ended.sessionId) === ended) this.sessions.delete(ended.sessionId);
      },
    });
    this.sessions.set(record.sessionId, session);
    try {
      await session.start();
    } catch (error) {
      // A session that could not load its auth state must not block later commands.
      if (this.sessions.get(record.sessionId) === session) this.sessions.delete(record.sessionId);
      session.halt();
      throw error;
    }
    return session;
  }

  async heartbeat(): Promise<void> {
    const lease = this.lease;
    if (lease && !this.holds()) this.lose('expired before renewal');
    if (!lease || !this.holds()) return;
    const now = new Date(this.o.session.now()).toISOString();
    for (const session of this.sessions.values()) {
      session.checkSilence();
      // A refused heartbeat means a newer owner wrote to the session: let go of it at once.
      const ok = await this.o.session.sessions.touch(session.sessionId, lease.fence, now).catch(() => true);
      if (!ok) {
        session.halt();
        this.sessions.delete(session.sessionId);
      }
    }
  }

  private async handle(command: Command): Promise<CommandResult> {
    // Draining: given back for the next owner at once (it takes the lease within seconds).
    if (this.draining) return { kind: 'retry', afterSeconds: 0 };
    if (!this.holds()) return { kind: 'retry', afterSeconds: 5 };
    const record = await this.o.session.sessions.get(command.sessionId);
    if (!record || record.shard !== this.shard) return { kind: 'done' };
    switch (command.type) {
      case 'start':
        // A start queued before its tenant deleted the session: nothing to open any more.
        if (record.status === 'DELETING') return { kind: 'done' };
        // A pairing number given at re-init travels in the command.
        await this.open({
          ...record,
          pairingPhoneNumber: command.pairingPhoneNumber ?? record.pairingPhoneNumber,
        });
        return { kind: 'done' };
      case 'stop': {
        const running =
          this.sessions.get(command.sessionId) ?? (command.logout ? await this.open(record) : undefined);
        if (running) {
          try {
            await running.stop(command.logout);
          } finally {
            // Even when the stop failed (a logout whose auth-state delete threw): a later start must
            // open a new session, not find this one.
            if (this.sessions.get(command.sessionId) === running) this.sessions.delete(command.sessionId);
          }
        } else {
          const now = new Date(this.o.session.now()).toISOString();
          await this.o.session.sessions.transition(record.sessionId, {
            to: 'DISCONNECTED',
            fields: { qr: null, qrExpiresAt: null },
            fence: this.lease?.fence,
            now,
          });
        }
        return { kind: 'done' };
      }
      case 'send':
        return this.send(record, command);
      case 'delete':
        return this.remove(record, command);
    }
  }

  /**
   * The tenant deleted the session (it is DELETING): unlink the device (a socket is opened for
   * that when none is and the auth state is linked), delete the auth state, optionally the
   * conversations and messages, and last the record. A failure throws: the command comes again.
   */
  private async remove(record: Session, command: DeleteCommand): Promise<CommandResult> {
    if (record.status !== 'DELETING') {
      this.o.session.logger.warn('delete command for a session not being deleted: dropped', {
        sessionId: record.sessionId,
      });
      return { kind: 'done' };
    }
    let running = this.sessions.get(record.sessionId);
    if (!running) {
      const auth = await DurableAuthState.load({
        store: this.o.session.objects,
        sessionId: record.sessionId,
        fence: this.lease?.fence ?? 0,
        onError: (what, error) => this.warn(record.sessionId, what, error),
      });
      if (auth.linked) running = await this.open(record);
      else await auth.destroy();
    }
    if (running) {
      try {
        await running.stop(true); // logs out (unlinks the device) and deletes the auth state
      } finally {
        if (this.sessions.get(record.sessionId) === running) this.sessions.delete(record.sessionId);
      }
    }
    if (command.purge) await this.o.purgeSessionMessages?.(record.sessionId);
    await this.o.session.sessions.delete(record.sessionId);
    this.o.session.logger.info('session deleted', { sessionId: record.sessionId, purge: command.purge });
    return { kind: 'done' };
  }

  private async send(record: Session, command: SendCommand): Promise<CommandResult> {
    const deadline = this.o.session.now() + (this.o.sendWaitMs ?? 120_000);
    let session = this.sessions.get(record.sessionId);
    if (!session && record.desiredState === 'running' && RESUMABLE.has(record.status))
      session = await this.open(record);
    while (session && this.holds() && !this.draining) {
      const remaining = deadline - this.o.session.now();
      if (remaining <= 0) break;
      // Short waits, so that a drain or a lease loss is noticed within a second.
      if (!(await session.waitConnected(Math.min(remaining, 1000)))) continue;
      const outcome = await session.send(command);
      // Claimed by a live holder (another copy in flight): given back, never sent twice.
      if (outcome === 'busy') return { kind: 'retry', afterSeconds: 30 };
      if (outcome !== 'not_connected') {
        if (outcome === 'failed') this.o.session.metrics('CommandsFailed');
        return { kind: 'done' };
      }
    }
    if (this.draining) return { kind: 'retry', afterSeconds: 0 };
    if (!this.holds()) return { kind: 'retry', afterSeconds: 5 };
    const now = new Date(this.o.session.now()).toISOString();
    // Fenced and tied to the session: refused when a newer owner holds the message, or it is another's.
    await this.o.session.messages.updateStatus(command.messageId, {
      status: 'FAILED',
      error: 'SESSION_NOT_CONNECTED',
      now,
      fence: this.lease?.fence,
      sessionId: record.sessionId,
    });
    this.o.session.metrics('CommandsFailed');
    return { kind: 'done' };
  }

  private warn(sessionId: string, message: string, error: unknown): void {
    this.o.session.logger.warn(message, {
      sessionId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** Holds the leases of the shards this runner serves and runs their sessions. */
export class Supervisor {
  private readonly workers: ShardWorker[];
  private heartbeatTimer?: NodeJS.Timeout;

  constructor(private readonly options: SupervisorOptions) {
    this.workers = options.shards.map((shard) => new ShardWorker(shard, options));
  }

  start(): void {
    for (const worker of this.workers) worker.start();
    this.heartbeatTimer = setInterval(() => {
      this.options.session.metrics('RunnerHeartbeat');
      for (const worker of this.workers) void worker.heartbeat();
    }, this.options.heartbeatMs ?? 30_000);
  }

  /** Whether every held shard has resumed its sessions (`/healthz` is 503 until then). */
  ready(): boolean {
    return this.workers.every((w) => w.ready());
  }

  /** Shards held now, and their running sessions (health and tests). */
  status(): { shard: number; fence?: number; sessions: number }[] {
    return this.workers.map((w) => ({ shard: w.shard, fence: w.lease?.fence, sessions: w.sessions.size }));
  }

  async shutdown(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    await Promise.allSettled(this.workers.map((w) => w.shutdown()));
  }
}
