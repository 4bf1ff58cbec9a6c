import type { Command, DeleteCommand, SendCommand } from '#shared/contracts/commands.ts';
import type { Session } from '#shared/domain/entities.ts';
import type { Lease } from '#shared/ports/lease-store.ts';
import { DurableAuthState } from './auth-state/durable-auth-state.ts';
import type { CommandResult } from './command-consumer.ts';
import { SPOOL_ROOT } from './incoming-spool.ts';
import { type SessionContext, WhatsAppSession } from './session.ts';

/** What the shard needs of one session (the real one is WhatsAppSession; unit tests use a fake). */
export type ShardSession = Pick<
  WhatsAppSession,
  | 'sessionId'
  | 'ended'
  | 'endedHow'
  | 'state'
  | 'start'
  | 'stop'
  | 'shutdown'
  | 'halt'
  | 'waitConnected'
  | 'send'
  | 'checkSilence'
>;

/** How a session learns whether it may act, and tells the shard it ended. */
export interface SessionHooks {
  mayAct: () => boolean;
  onEnded: (session: ShardSession) => void;
}

export type SessionFactory = (record: Session, fence: number, hooks: SessionHooks) => ShardSession;

/** The shard's lease as the sessions see it (the LeaseKeeper). */
export interface ShardGrant {
  readonly lease?: Lease;
  /** Lease held and not past its safety margin. */
  holds(): boolean;
}

export interface ShardSessionsOptions {
  shard: number;
  grant: ShardGrant;
  session: SessionContext;
  /** Pause of each resume lane between two session starts, so a takeover does not storm WhatsApp. */
  staggerMs?: number;
  /** Sessions opened at the same time when the shard is resumed (default 16). */
  resumeConcurrency?: number;
  /** How long a send waits for its session to (re)connect before it fails (default 120 s). */
  sendWaitMs?: number;
  /**
   * A send whose session is still coming up (loading, connecting, in backoff) when `sendWaitMs` is
   * over keeps waiting until this long after the message was accepted (default 120 s, production's
   * send wait, and never less than `sendWaitMs`): a slow takeover is not a FAILED message.
   */
  sendGiveUpMs?: number;
  /** Deletes a session's conversations and messages (a `delete` command with `purge`). */
  purgeSessionMessages?: (sessionId: string) => Promise<void>;
  /** Builds a session (default: a WhatsAppSession on `session`). */
  createSession?: SessionFactory;
}

/** Statuses whose sessions a runner reopens by itself after a restart (the others wait for a start command). */
const RESUMABLE = new Set(['CONNECTING', 'QR_READY', 'CONNECTED']);
/** Statuses that speak of the previous owner's socket (a QR to scan, a connection): reset at takeover. */
const SHOWN_AS_LIVE = new Set(['QR_READY', 'CONNECTED']);
/** A session stopped because WhatsApp refused the client version comes back once a new runner starts. */
const resumable = (s: Session) =>
  s.desiredState === 'running' && (RESUMABLE.has(s.status) || s.lastError === 'CLIENT_VERSION_REJECTED');

const RETRY_BASE_MS = 500;
const RETRY_CAP_MS = 15_000;
/** Longest single wait of a send for its connection: a drain or a lease loss is noticed within it. */
const SEND_WAIT_STEP_MS = 1_000;
/** Default of `sendGiveUpMs`: production's send wait. */
const SEND_GIVE_UP_MS = 120_000;
/** Life states of a session on its way to a connection by itself (a QR needs a person; ended never comes back). */
const COMING_UP = new Set(['loading', 'connecting', 'backoff']);

/**
 * The sessions of one held shard: their registry, the resume after a takeover (bounded lanes, failed
 * opens retried), the commands (start, stop, send, delete), and what a drain or a lease loss does
 * to them. Acts only while `grant.holds()`, and every session is tied to the grant it was opened under.
 */
export class ShardSessions {
  readonly sessions = new Map<string, ShardSession>();
  /** SIGTERM: no new work; sends waiting for a connection give their command back. */
  private draining = false;
  /** The fence under which every resumable session of the shard was opened (or tried once). */
  private resumedFence?: number;
  private readonly createSession: SessionFactory;
  /** The record each session was opened from (see `runningRecord`). */
  private readonly openedFrom = new WeakMap<ShardSession, Session>();

  constructor(private readonly o: ShardSessionsOptions) {
    this.createSession =
      o.createSession ?? ((record, fence, hooks) => new WhatsAppSession(record, fence, o.session, hooks));
  }

  private get ctx(): SessionContext {
    return this.o.session;
  }

  private get grant(): ShardGrant {
    return this.o.grant;
  }

  /** Whether every resumable session was opened (or tried) under the lease held now. */
  resumedUnder(fence: number): boolean {
    return this.resumedFence === fence;
  }

  /** SIGTERM: commands are given back, and sends waiting for a connection give theirs back. */
  drain(): void {
    this.draining = true;
  }

  /** Shutdown: every socket closed and its auth state flushed, the status left for the next owner. */
  async shutdown(): Promise<void> {
    this.draining = true;
    await Promise.allSettled([...this.sessions.values()].map((s) => s.shutdown()));
    this.sessions.clear();
  }

  /** The lease is gone: every socket dropped at once, nothing more written. */
  halt(): void {
    for (const session of this.sessions.values()) session.halt();
    this.sessions.clear();
  }

  /**
   * Lists the shard's sessions (retried with backoff until it works or the lease is gone: a failed
   * listing must not leave the shard offline), stamps the new fence on all of them, and reopens the
   * resumable ones; then the shard counts as ready.
   */
  async resume(lease: Lease): Promise<void> {
    for (let attempt = 0; this.grant.lease?.fence === lease.fence; attempt++) {
      let records: Session[];
      try {
        records = await this.ctx.sessions.listByShard(this.o.shard);
      } catch (error) {
        this.ctx.logger.warn('listing the shard sessions failed: retrying', {
          shard: this.o.shard,
          attempt,
          error: error instanceof Error ? error.message : String(error),
        });
        await this.sleep(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 10)));
        continue;
      }
      // Stamp the new fence on every session of the shard first: from here on, a late write of the
      // previous owner is refused even for sessions this runner has not reopened yet. A resumable
      // session still CONNECTED or QR_READY is the previous owner's socket (and QR): shown
      // CONNECTING, without that QR, until this runner has it again, in the same write.
      const now = new Date(this.ctx.now()).toISOString();
      await Promise.all(
        records.map((r) =>
          // With its listing keys: a session stored before GET /sessions existed joins the list.
          this.ctx.sessions
            .touch(r.sessionId, lease.fence, now, r, resumable(r) && SHOWN_AS_LIVE.has(r.status))
            .catch(() => false),
        ),
      );
      const failed = await this.openInLanes(records.filter(resumable), lease);
      if (this.grant.lease?.fence !== lease.fence) return;
      await this.recoverOrphanSpools(records.filter((r) => !resumable(r)));
      this.resumedFence = lease.fence;
      this.ctx.logger.info('shard resumed', { shard: this.o.shard, sessions: records.length });
      await this.retryFailed(failed, lease);
      return;
    }
  }

  /** Heartbeat: the silence watchdog, and `runnerSeenAt` of every session (fenced) under `lease`. */
  async heartbeat(lease: Lease): Promise<void> {
    const now = new Date(this.ctx.now()).toISOString();
    for (const session of this.sessions.values()) {
      session.checkSilence();
      // A refused heartbeat means a newer owner wrote to the session: let go of it at once.
      const ok = await this.ctx.sessions.touch(session.sessionId, lease.fence, now).catch(() => true);
      if (!ok) {
        session.halt();
        this.sessions.delete(session.sessionId);
      }
    }
  }

  /** One command of the shard's queue. */
  async handle(command: Command): Promise<CommandResult> {
    // Draining: given back for the next owner at once (it takes the lease within seconds).
    if (this.draining) return { kind: 'retry', afterSeconds: 0 };
    if (!this.grant.holds()) return { kind: 'retry', afterSeconds: 5 };
    const record = this.runningRecord(command) ?? (await this.ctx.sessions.get(command.sessionId));
    if (!record || record.shard !== this.o.shard) return { kind: 'done' };
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
      case 'stop':
        return this.stop(record, command.logout);
      case 'send':
        return this.send(record, command);
      case 'delete':
        return this.remove(record, command);
    }
  }

  /**
   * For a send to a session running here: the record it was opened from, instead of a read of the
   * session per command (one DynamoDB read per outbound text). Safe without the read: a session
   * is in the registry only under the grant it was opened under (a lost lease halts and clears
   * them all, a refused heartbeat drops it, a stop or a delete forgets it), and the send's claim is
   * conditioned on the message itself (QUEUED, of this session and tenant, no newer fence). Every
   * other command, and a send to a session not running, reads the record as before.
   */
  private runningRecord(command: Command): Session | undefined {
    if (command.type !== 'send') return undefined;
    const running = this.sessions.get(command.sessionId);
    return running && !running.ended ? this.openedFrom.get(running) : undefined;
  }

  /**
   * Incoming messages a crashed runner spooled for sessions that are not reopened now (stopped since)
   * are redriven too: one listing of the whole spool, usually empty.
   */
  private async recoverOrphanSpools(notResumed: Session[]): Promise<void> {
    const recover = this.ctx.recoverIncoming;
    if (!recover || notResumed.length === 0) return;
    try {
      const spooled = new Set((await this.ctx.objects.list(SPOOL_ROOT)).map((k) => k.split('/')[1]));
      await Promise.all(notResumed.filter((r) => spooled.has(r.sessionId)).map((r) => recover(r.sessionId)));
    } catch (error) {
      this.ctx.logger.warn('listing the incoming spool failed', {
        shard: this.o.shard,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Opens sessions a bounded number at a time (lanes); returns those that failed to open. */
  private async openInLanes(records: Session[], lease: Lease): Promise<Session[]> {
    const queue = [...records];
    const failed: Session[] = [];
    const lane = async () => {
      for (
        let record = queue.shift();
        record && this.grant.lease?.fence === lease.fence;
        record = queue.shift()
      ) {
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
    for (let attempt = 0; failed.length > 0 && this.grant.lease?.fence === lease.fence; attempt++) {
      await this.sleep(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt + 1, 10)));
      if (this.grant.lease?.fence !== lease.fence) return;
      const current = await Promise.all(failed.map((r) => this.ctx.sessions.get(r.sessionId).catch(() => r)));
      failed = await this.openInLanes(
        current.flatMap((r) => (r && r.shard === this.o.shard && resumable(r) ? [r] : [])),
        lease,
      );
    }
  }

  /** The running session, or a new one opened from its record. */
  private async open(record: Session): Promise<ShardSession> {
    const running = this.sessions.get(record.sessionId);
    if (running && !running.ended) return running;
    const lease = this.grant.lease;
    if (!lease || !this.grant.holds()) throw new Error('shard not held');
    const session: ShardSession = this.createSession(record, lease.fence, {
      // Tied to this grant and this instance: after a loss and a new grant, an old instance stays down.
      mayAct: () =>
        this.grant.holds() &&
        this.grant.lease?.fence === lease.fence &&
        this.sessions.get(record.sessionId) === session,
      onEnded: (ended) => {
        if (this.sessions.get(ended.sessionId) === ended) this.sessions.delete(ended.sessionId);
      },
    });
    this.sessions.set(record.sessionId, session);
    this.openedFrom.set(session, record);
    try {
      await session.start();
    } catch (error) {
      // A session that could not load its auth state must not block later commands.
      this.forget(record.sessionId, session);
      session.halt();
      throw error;
    }
    return session;
  }

  private forget(sessionId: string, session: ShardSession): void {
    if (this.sessions.get(sessionId) === session) this.sessions.delete(sessionId);
  }

  private async stop(record: Session, logout: boolean): Promise<CommandResult> {
    const running = this.sessions.get(record.sessionId) ?? (logout ? await this.open(record) : undefined);
    if (running) {
      try {
        await running.stop(logout);
      } finally {
        // Even when the stop failed (a logout whose auth-state delete threw): a later start must
        // open a new session, not find this one.
        this.forget(record.sessionId, running);
      }
    } else {
      await this.ctx.sessions.transition(record.sessionId, {
        to: 'DISCONNECTED',
        fields: { qr: null, qrExpiresAt: null },
        fence: this.grant.lease?.fence,
        now: new Date(this.ctx.now()).toISOString(),
      });
    }
    return { kind: 'done' };
  }

  /**
   * The tenant deleted the session (it is DELETING): unlink the device (a socket is opened for
   * that when none is and the auth state is linked), delete the auth state, optionally the
   * conversations and messages, and last the record. A failure throws: the command comes again.
   */
  private async remove(record: Session, command: DeleteCommand): Promise<CommandResult> {
    if (record.status !== 'DELETING') {
      this.ctx.logger.warn('delete command for a session not being deleted: dropped', {
        sessionId: record.sessionId,
      });
      return { kind: 'done' };
    }
    let running = this.sessions.get(record.sessionId);
    if (!running) {
      const auth = await DurableAuthState.load({
        store: this.ctx.objects,
        sessionId: record.sessionId,
        fence: this.grant.lease?.fence ?? 0,
        onError: (what, error) => this.warn(record.sessionId, what, error),
      });
      if (auth.linked) running = await this.open(record);
      else await auth.destroy();
    }
    if (running) {
      try {
        await running.stop(true); // logs out (unlinks the device) and deletes the auth state
      } finally {
        this.forget(record.sessionId, running);
      }
    }
    if (command.purge) await this.o.purgeSessionMessages?.(record.sessionId);
    await this.ctx.sessions.delete(record.sessionId);
    this.ctx.logger.info('session deleted', { sessionId: record.sessionId, purge: command.purge });
    return { kind: 'done' };
  }

  /**
   * Sends once the session is connected, waiting up to `sendWaitMs` for it, and past that while it
   * is still coming up, until the message is `sendGiveUpMs` old; gives the command back on a drain,
   * a lease loss, or when the session it waits on was halted (and maybe replaced); marks the message
   * FAILED SESSION_NOT_CONNECTED when the wait is over or the session ended for good (closed by
   * WhatsApp, stopped).
   */
  private async send(record: Session, command: SendCommand): Promise<CommandResult> {
    const sendWaitMs = this.o.sendWaitMs ?? 120_000;
    let deadline = this.ctx.now() + sendWaitMs;
    let extended = false;
    let session = this.sessions.get(record.sessionId);
    if (!session && record.desiredState === 'running' && RESUMABLE.has(record.status))
      session = await this.open(record);
    while (session && this.grant.holds() && !this.draining) {
      // Closed by WhatsApp (logged out, replaced, client refused) or stopped: it does not come back,
      // whether or not it has left the registry yet. Checked before the registry: giving the command
      // back here would reopen the session from a record whose close write may have failed (still
      // CONNECTED), fighting the device that replaced it or showing a new QR over LOGGED_OUT.
      if (session.ended && session.endedHow !== 'halted') break;
      const current = this.sessions.get(record.sessionId);
      if (current !== session) {
        // Halted and replaced while this send waited (the lease lost and taken again, a refused
        // heartbeat): the instance waited on never connects again. The one the shard runs now, or
        // else the command back, to be handled afresh from the stored session.
        if (current && !current.ended) {
          session = current;
          continue;
        }
        return { kind: 'retry', afterSeconds: 1 };
      }
      if (session.ended) break;
      if (this.ctx.now() >= deadline) {
        if (extended || !COMING_UP.has(session.state)) break;
        // Still coming up (a takeover on a slow machine): the wait runs on to the give-up bound.
        extended = true;
        const acceptedAt = (await this.acceptedAt(command)) ?? deadline - sendWaitMs;
        deadline = Math.max(deadline, acceptedAt + this.giveUpMs(sendWaitMs));
        continue;
      }
      // Short waits, so that a drain or a lease loss is noticed within a second.
      const step = Math.min(deadline - this.ctx.now(), SEND_WAIT_STEP_MS);
      if (!(await session.waitConnected(step))) continue;
      const outcome = await session.send(command);
      // Claimed by a live holder (another copy in flight): given back, never sent twice.
      if (outcome === 'busy') return { kind: 'retry', afterSeconds: 30 };
      if (outcome !== 'not_connected') {
        if (outcome === 'failed') this.ctx.metrics('CommandsFailed');
        return { kind: 'done' };
      }
    }
    if (this.draining) return { kind: 'retry', afterSeconds: 0 };
    if (!this.grant.holds()) return { kind: 'retry', afterSeconds: 5 };
    // Fenced and tied to the session: refused when a newer owner holds the message, or it is another's.
    await this.ctx.messages.updateStatus(command.messageId, {
      status: 'FAILED',
      error: 'SESSION_NOT_CONNECTED',
      now: new Date(this.ctx.now()).toISOString(),
      fence: this.grant.lease?.fence,
      sessionId: record.sessionId,
    });
    this.ctx.metrics('CommandsFailed');
    return { kind: 'done' };
  }

  private giveUpMs(sendWaitMs: number): number {
    return Math.max(sendWaitMs, this.o.sendGiveUpMs ?? SEND_GIVE_UP_MS);
  }

  /** When the message was accepted; undefined when it cannot be read (the wait then counts from its own start). */
  private async acceptedAt(command: SendCommand): Promise<number | undefined> {
    const message = await this.ctx.messages.get(command.messageId).catch(() => undefined);
    const at = message ? Date.parse(message.createdAt) : Number.NaN;
    return Number.isNaN(at) ? undefined : at;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.ctx.timers.setTimeout(() => r(), ms));
  }

  private warn(sessionId: string, message: string, error: unknown): void {
    this.ctx.logger.warn(message, {
      sessionId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
