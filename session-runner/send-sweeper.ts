import type { Logger } from '#shared/logger.ts';
import type { CommandPublisher } from '#shared/ports/command-publisher.ts';
import type { MessageStore, QueuedSend } from '#shared/ports/message-store.ts';
import type { SessionStore } from '#shared/ports/session-store.ts';
import type { MetricSink } from './metrics.ts';
import type { Timers } from './session.ts';

export interface SendSweeperOptions {
  shard: number;
  sessions: Pick<SessionStore, 'listByShard'>;
  messages: MessageStore;
  commands: CommandPublisher;
  /** The lease fence while the shard is held, undefined once it is not: the sweeper then writes nothing. */
  fence: () => number | undefined;
  now: () => number;
  timers: Timers;
  logger: Logger;
  metrics?: MetricSink;
  /** Pause between two sweeps of the shard. */
  intervalMs?: number;
  /**
   * A send is due for another enqueue once this long passed since it was accepted, claimed or last
   * enqueued: longer than a send waits for its session (SEND_WAIT_MS), so a command still being
   * worked on is rarely doubled (a double is harmless anyway: the claim lets only one go out).
   */
  staleAfterMs?: number;
  /** A claim younger than this is a send under way; the same bound as the runner's claim takeover. */
  claimStaleMs?: number;
  /** After this many enqueues by the sweeper, or this long after it was accepted, the send is FAILED. */
  maxResends?: number;
  maxAgeMs?: number;
  /** Sends looked at per session and sweep (oldest first). */
  batch?: number;
}

export interface SweepResult {
  resent: string[];
  failed: string[];
}

/** The reason a send that never left is FAILED with. */
export const NOT_SENT = 'NOT_SENT';

const DEFAULTS = {
  intervalMs: 60_000,
  staleAfterMs: 3 * 60_000,
  claimStaleMs: 5 * 60_000,
  maxResends: 3,
  maxAgeMs: 30 * 60_000,
  batch: 100,
};

const iso = (ms: number) => new Date(ms).toISOString();
const latest = (...instants: (string | undefined)[]) =>
  Math.max(...instants.map((i) => (i ? Date.parse(i) : 0)));

/**
 * Finds the accepted sends of a held shard that never left (enqueue lost, queue purged, runner gone
 * mid-wait) and enqueues their send again under the same messageId, so the same WhatsApp id goes out
 * (the recipient dedupes; the claim in the store lets one copy send). Only for a connected session
 * whose queue is not moving. A send still QUEUED after `maxResends` such enqueues, or `maxAgeMs`
 * after it was accepted, is FAILED with `NOT_SENT`. Every write carries the lease fence.
 */
export class SendSweeper {
  private readonly o: SendSweeperOptions & typeof DEFAULTS;
  private timer?: unknown;
  private running = false;
  /** Per session, its oldest QUEUED send at the last sweep (is its queue moving?). */
  private readonly heads = new Map<string, string>();
  /** The sweep started last by the timer (tests and shutdown await it). */
  lastSweep?: Promise<SweepResult | undefined>;

  constructor(options: SendSweeperOptions) {
    this.o = { ...DEFAULTS, ...stripUndefined(options) } as SendSweeperOptions & typeof DEFAULTS;
  }

  /** Sweeps every `intervalMs` until `stop()` or the shard is no longer held. */
  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.o.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.o.timers.setTimeout(() => {
      this.lastSweep = this.sweepOnce()
        .catch((error) => {
          this.o.logger.warn('send sweep failed', {
            shard: this.o.shard,
            error: error instanceof Error ? error.message : String(error),
          });
          return undefined;
        })
        .finally(() => {
          if (this.o.fence() === undefined) this.stop();
          else this.schedule();
        });
    }, this.o.intervalMs);
  }

  /** One pass over the shard's sessions; what it enqueued again and what it gave up. */
  async sweepOnce(): Promise<SweepResult> {
    const result: SweepResult = { resent: [], failed: [] };
    const fence = this.o.fence();
    if (fence === undefined) return result;
    const now = this.o.now();
    const sessions = await this.o.sessions.listByShard(this.o.shard);
    const seen = new Set<string>();
    for (const session of sessions) {
      if (this.o.fence() !== fence) return result;
      seen.add(session.sessionId);
      // Every QUEUED send of the session, oldest first (the bound only allows for clock skew).
      const queued = await this.o.messages.listQueued(session.sessionId, {
        createdBefore: iso(now + this.o.staleAfterMs),
        limit: this.o.batch,
      });
      const head = queued[0]?.message.messageId;
      const previous = this.heads.get(session.sessionId);
      if (head) this.heads.set(session.sessionId, head);
      else this.heads.delete(session.sessionId);
      // A session works through its commands in order: when its oldest QUEUED send changed since
      // the last sweep, its queue is moving (a backlog, not a loss) and copies would only lengthen
      // it. Commands are only worth sending again to a connected session (else they wait and fail).
      const stuck = previous === undefined || previous === head;
      const resend = stuck && session.status === 'CONNECTED' && session.desiredState === 'running';
      for (const send of queued) {
        if (this.o.fence() !== fence) return result;
        try {
          await this.settle(send, { shard: session.shard, fence, now, resend }, result);
        } catch (error) {
          // One message's trouble must not hold up the others; it is looked at again next sweep.
          this.o.logger.warn('sweeping a send failed', {
            shard: this.o.shard,
            messageId: send.message.messageId,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
    for (const sessionId of this.heads.keys()) if (!seen.has(sessionId)) this.heads.delete(sessionId);
    if (result.resent.length + result.failed.length > 0)
      this.o.logger.info('sends swept', {
        shard: this.o.shard,
        resent: result.resent.length,
        failed: result.failed.length,
      });
    return result;
  }

  private async settle(
    send: QueuedSend,
    at: { shard: number; fence: number; now: number; resend: boolean },
    result: SweepResult,
  ): Promise<void> {
    const { message } = send;
    const { fence, now } = at;
    if (send.claimedAt && Date.parse(send.claimedAt) > now - this.o.claimStaleMs) return; // under way
    if (latest(message.createdAt, send.claimedAt, send.resentAt) > now - this.o.staleAfterMs) return;
    const tooOld = Date.parse(message.createdAt) <= now - this.o.maxAgeMs;
    if (tooOld || (at.resend && send.resends >= this.o.maxResends)) {
      const failed = await this.o.messages.giveUpSend(message.messageId, {
        sessionId: message.sessionId,
        fence,
        error: NOT_SENT,
        now: iso(now),
        claimStaleBefore: iso(now - this.o.claimStaleMs),
      });
      if (failed) {
        result.failed.push(message.messageId);
        this.o.metrics?.('SendsGivenUp');
      }
      return;
    }
    if (!at.resend) return;
    const count = await this.o.messages.noteResend(message.messageId, { fence, now: iso(now) });
    if (count === undefined) return; // sent or failed meanwhile, or a newer owner has it
    await this.o.commands.publish(at.shard, {
      v: 1,
      type: 'send',
      sessionId: message.sessionId,
      // A new commandId (SQS would drop the first one's for 5 minutes); the same messageId, hence the
      // same WhatsApp id.
      commandId: `${message.messageId}:resend:${count}`,
      messageId: message.messageId,
      to: message.to,
      text: message.text,
    });
    result.resent.push(message.messageId);
    this.o.metrics?.('SendsResent');
  }
}

const stripUndefined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
