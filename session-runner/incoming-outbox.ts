import { MessageReceived } from '#shared/contracts/incoming.ts';
import type { Logger } from '#shared/logger.ts';
import type { IncomingPublisher } from './incoming-publisher.ts';
import type { IncomingSpool } from './incoming-spool.ts';
import type { MetricSink } from './metrics.ts';
import type { Timers } from './session.ts';

export interface IncomingOutboxOptions {
  /** Sends one message to `incoming.fifo` (bounded in time). */
  sendToQueue: IncomingPublisher;
  spool: IncomingSpool;
  metrics: MetricSink;
  logger: Logger;
  timers: Timers;
  /** Retry spacing of the drainer and of a spool write that failed. */
  backoff?: { baseMs: number; capMs: number };
}

interface Pending {
  message: MessageReceived;
  done: () => void;
}

/** The spool state of one session: while it exists, new messages of the session queue up behind it. */
interface Spooled {
  /** Grows with every spool write started: the drainer only leaves spool mode when nothing changed. */
  generation: number;
  /** Spool writes under way. */
  writing: number;
}

/**
 * Where every incoming message goes first. A message is in memory only until it is on durable
 * storage: published to `incoming.fifo`, or, when SQS fails, written to the S3 spool, which a drainer
 * loop redrives to SQS (with backoff) once SQS is back. Messages of one chat are handled one after
 * the other (a serial lane per session and chat), and while a session has spooled messages every new
 * one of that session is spooled behind them, so per-chat order holds across an outage. On SIGTERM
 * (`close`), what is pending goes to the spool; the next owner of the session drains it (`recover`).
 */
export class IncomingOutbox {
  private readonly lanes = new Map<string, Pending[]>();
  private readonly spooled = new Map<string, Spooled>();
  private readonly idleWaiters: (() => void)[] = [];
  private closing = false;
  private abandoned = false;
  private drainTimer?: unknown;
  private draining?: Promise<void>;
  private drainFailures = 0;

  constructor(private readonly o: IncomingOutboxOptions) {}

  /** Hands a message over; resolves once it is in SQS or in the spool (or counted as dropped). */
  readonly publish: IncomingPublisher = (message) => {
    const parsed = MessageReceived.safeParse(message);
    if (!parsed.success) {
      this.drop(message, 'invalid message');
      return Promise.resolve();
    }
    const key = `${message.sessionId}\n${message.chat}`;
    return new Promise<void>((done) => {
      const lane = this.lanes.get(key);
      if (lane) {
        lane.push({ message: parsed.data, done });
        return;
      }
      const fresh = [{ message: parsed.data, done }];
      this.lanes.set(key, fresh);
      void this.run(key, fresh);
    });
  };

  /**
   * Called when a session (re)starts, before its socket opens: if a spool is left (by this runner or
   * a crashed one), new messages queue behind it and the drainer redrives it. Never throws.
   */
  async recover(sessionId: string): Promise<void> {
    if (this.spooled.has(sessionId)) return;
    const state = this.mark(sessionId);
    const generation = state.generation;
    try {
      const keys = await this.o.spool.list(sessionId);
      if (keys.length === 0 && state.writing === 0 && state.generation === generation) {
        if (this.spooled.get(sessionId) === state) this.spooled.delete(sessionId);
        return;
      }
    } catch (error) {
      this.warn('listing the incoming spool failed: the drainer retries', sessionId, error);
    }
    this.kickDrain(0);
  }

  /** Sessions whose new messages currently go to the spool (tests, health). */
  spooledSessions(): string[] {
    return [...this.spooled.keys()];
  }

  /** Resolves once nothing is pending in memory. */
  idle(): Promise<void> {
    if (this.lanes.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * SIGTERM: stop draining, spool what is pending; after `timeoutMs`, whatever could still not be
   * stored is counted as dropped (only when SQS and S3 both fail throughout).
   */
  async close(timeoutMs = 15_000): Promise<void> {
    this.closing = true;
    this.o.timers.clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    let timer: unknown;
    const deadline = new Promise<'timeout'>((r) => {
      timer = this.o.timers.setTimeout(() => r('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.idle().then(() => 'idle' as const), deadline]);
    this.o.timers.clearTimeout(timer);
    await this.draining?.catch(() => undefined);
    if (outcome === 'idle') return;
    this.abandoned = true;
    for (const lane of this.lanes.values())
      for (const item of lane) {
        this.drop(item.message, 'neither SQS nor S3 took it before shutdown');
        item.done();
      }
    this.lanes.clear();
    this.notifyIdle();
  }

  private async run(key: string, lane: Pending[]): Promise<void> {
    while (lane.length > 0 && !this.abandoned) {
      const item = lane[0] as Pending;
      await this.deliver(item.message);
      if (this.abandoned) return;
      lane.shift();
      item.done();
    }
    if (this.lanes.get(key) === lane) this.lanes.delete(key);
    this.notifyIdle();
  }

  private async deliver(message: MessageReceived): Promise<void> {
    if (!this.spooled.has(message.sessionId) && !this.closing) {
      try {
        await this.o.sendToQueue(message);
        return;
      } catch (error) {
        this.warn('SQS did not take an incoming message: spooling it to S3', message.sessionId, error);
      }
    }
    await this.toSpool(message);
  }

  private async toSpool(message: MessageReceived): Promise<void> {
    const state = this.mark(message.sessionId);
    state.generation++;
    state.writing++;
    try {
      for (let attempt = 0; !this.abandoned; attempt++) {
        try {
          await this.o.spool.put(message);
          this.o.metrics('IncomingSpooled');
          return;
        } catch (error) {
          this.warn('spooling an incoming message failed: retrying', message.sessionId, error);
          await this.sleep(this.delay(attempt));
        }
      }
    } finally {
      state.writing--;
      this.kickDrain(0);
    }
  }

  private mark(sessionId: string): Spooled {
    let state = this.spooled.get(sessionId);
    if (!state) {
      state = { generation: 0, writing: 0 };
      this.spooled.set(sessionId, state);
    }
    return state;
  }

  private kickDrain(delayMs: number): void {
    if (this.closing || this.drainTimer !== undefined || this.draining) return;
    this.drainTimer = this.o.timers.setTimeout(() => {
      this.drainTimer = undefined;
      this.draining = this.drainAll().finally(() => {
        this.draining = undefined;
        if (this.spooled.size === 0 || this.closing) return;
        // Still spooling (SQS down, or a write under way): try again later, backing off on failures.
        this.kickDrain(this.drainFailures > 0 ? this.delay(this.drainFailures - 1) : this.base());
      });
    }, delayMs);
  }

  private async drainAll(): Promise<void> {
    let failed = false;
    for (const [sessionId, state] of [...this.spooled]) {
      if (this.closing) return;
      try {
        await this.drainSession(sessionId, state);
      } catch (error) {
        failed = true;
        this.warn('redriving the incoming spool failed: retrying later', sessionId, error);
      }
    }
    this.drainFailures = failed ? this.drainFailures + 1 : 0;
  }

  /** Redrives a session's spool in key (arrival) order; leaves spool mode once it is empty and still. */
  private async drainSession(sessionId: string, state: Spooled): Promise<void> {
    for (;;) {
      const generation = state.generation;
      const keys = await this.o.spool.list(sessionId);
      if (keys.length === 0) {
        if (state.writing === 0 && state.generation === generation && this.spooled.get(sessionId) === state)
          this.spooled.delete(sessionId);
        return;
      }
      for (const key of keys) {
        if (this.closing) return;
        const message = await this.o.spool.read(key);
        if (message === 'invalid') {
          this.o.metrics('IncomingDropped');
          this.o.logger.error('unreadable object in the incoming spool: removed', { sessionId, key });
        } else if (message) {
          await this.o.sendToQueue(message);
          this.o.metrics('IncomingRedriven');
        }
        // A failed delete redrives the message again later: the queue's deduplication absorbs it.
        await this.o.spool.remove(key);
      }
    }
  }

  private drop(message: MessageReceived, reason: string): void {
    this.o.metrics('IncomingDropped');
    this.o.logger.error('incoming message dropped', {
      reason,
      sessionId: message?.sessionId,
      waMessageId: message?.waMessageId,
    });
  }

  private base(): number {
    return this.o.backoff?.baseMs ?? 1000;
  }

  private delay(attempt: number): number {
    return Math.min(this.o.backoff?.capMs ?? 30_000, this.base() * 2 ** Math.min(attempt, 20));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.o.timers.setTimeout(() => r(), ms));
  }

  private notifyIdle(): void {
    if (this.lanes.size > 0) return;
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }

  private warn(message: string, sessionId: string, error: unknown): void {
    this.o.logger.warn(message, {
      sessionId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
