import type { Logger } from '#shared/logger.ts';
import type { Lease, LeaseStore } from '#shared/ports/lease-store.ts';
import type { MetricSink } from './metrics.ts';
import type { Timers } from './session.ts';

/** Default pause between two attempts to acquire a lease this runner does not hold. */
const ACQUIRE_RETRY_MS = 2_000;
/** Shortest pause between two renewals of a lease still held after one failed, and shortest bound of one. */
const MIN_RENEW_RETRY_MS = 100;

export interface LeaseKeeperOptions {
  shard: number;
  runnerId: string;
  leases: LeaseStore;
  leaseDurationMs: number;
  /** Bound of one lease call: a hung call is given up and the lease loop goes on (default a third of the lease). */
  leaseCallTimeoutMs?: number;
  /** How often a lease this runner does not hold is tried (default 2 s, at most a third of the lease). */
  acquireRetryMs?: number;
  timers: Timers;
  now: () => number;
  logger: Logger;
  metrics: MetricSink;
}

/** What the keeper tells its shard: the lease is held under a fence, or it is gone. */
export interface LeaseEvents {
  /** A new grant: the shard may act under `lease.fence` while `holds()`. */
  held(lease: Lease): void;
  /** The grant is gone (refused, expired, no renewal before the margin): stop acting at once. */
  lost(reason: string): void;
}

/** Rejects when `work` takes longer than `ms` (the work itself cannot be cancelled; its result is ignored). */
export const within = <T>(timers: Timers, ms: number, what: string, work: Promise<T>): Promise<T> => {
  let handle: unknown;
  const timeout = new Promise<never>((_, reject) => {
    handle = timers.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => timers.clearTimeout(handle));
};

/**
 * One shard's lease: acquired when free, renewed at a third of its duration, every call bounded in
 * time, and given up a sixth of the lease before it expires when no renewal got through, so the
 * shard's sockets are gone before another runner may take it.
 */
export class LeaseKeeper {
  /** The current grant (it may be past its margin until the next tick or expiry timer notices). */
  lease?: Lease;
  private timer?: unknown;
  /** Fires when the lease is about to run out without a renewal: the sockets go at once. */
  private expiryTimer?: unknown;
  private stopped = false;
  /** SIGTERM: a lease acquired from now on is released at once; the held one keeps being renewed. */
  private draining = false;

  constructor(
    private readonly o: LeaseKeeperOptions,
    private readonly events: LeaseEvents,
  ) {}

  /** Whether this runner may still act for the shard: lease held and not about to run out. */
  holds = (): boolean => this.lease !== undefined && this.o.now() < this.marginOf(this.lease);

  /** Starts the acquire/renew loop. */
  start(): void {
    void this.tick();
  }

  /** The held lease, after dropping one past its margin (a tick may be late): undefined when not held. */
  check(): Lease | undefined {
    if (this.lease && !this.holds()) this.lose('expired before renewal');
    return this.holds() ? this.lease : undefined;
  }

  /** SIGTERM: acquire nothing new; the lease held is still renewed until `stop`. */
  drain(): void {
    this.draining = true;
  }

  /** Ends the loop and releases the lease (best effort: it expires anyway). */
  async stop(): Promise<void> {
    this.draining = true;
    this.stopped = true;
    this.o.timers.clearTimeout(this.timer);
    this.o.timers.clearTimeout(this.expiryTimer);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await this.o.leases.release(lease).catch(() => undefined);
  }

  /** When the sockets of a lease must be gone: a sixth of the lease before it expires. */
  private marginOf(lease: Lease): number {
    return lease.expiresAt - this.o.leaseDurationMs / 6;
  }

  /** Arms the timer that drops the shard if no renewal comes before the safety margin. */
  private armExpiry(lease: Lease): void {
    this.o.timers.clearTimeout(this.expiryTimer);
    const ms = this.marginOf(lease) - this.o.now();
    this.expiryTimer = this.o.timers.setTimeout(
      () => {
        if (this.lease === lease) this.lose('no renewal before expiry');
      },
      Math.max(0, ms),
    );
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.timer = this.o.timers.setTimeout(() => void this.tick(), ms);
  }

  /** Acquire or renew the lease; on loss, tell the shard at once. */
  private async tick(): Promise<void> {
    const now = this.o.now();
    let failed = false;
    try {
      if (this.lease && !this.holds()) this.lose('expired before renewal');
      if (this.lease) {
        const held = this.lease;
        const renewal = this.o.leases.renew(held, now, this.o.leaseDurationMs);
        // A renewal given up on its bound may still get through (a slow store or a starved event
        // loop, not a dead connection): its grant counts when it lands while the lease is held.
        // Not past the margin though: the shard's sessions may have stopped acting there already.
        renewal.then((late) => this.holds() && this.extend(held, late)).catch(() => undefined);
        // At most half the time left before the margin: a renewal that hangs through an outage
        // leaves room for another one once the store is back (r4 lost the shard that way).
        const renewed = await this.call(
          'lease renewal',
          renewal,
          Math.max(MIN_RENEW_RETRY_MS, (this.marginOf(held) - now) / 2),
        );
        if (this.lease?.fence !== held.fence) {
          // lost (expiry timer) or stopped while the renewal was under way: nothing to do
        } else if (renewed) {
          this.extend(held, renewed);
        } else {
          this.lose('renewal refused');
        }
      } else {
        const acquisition = this.o.leases.acquire(this.o.shard, this.o.runnerId, now, this.o.leaseDurationMs);
        // Granted after the call was given up: taken all the same, else the shard would stay
        // unowned until that grant expires.
        let gaveUp = false;
        acquisition.then((late) => gaveUp && this.takeLate(late)).catch(() => undefined);
        const lease = await this.call('lease acquisition', acquisition).catch((error) => {
          gaveUp = true;
          throw error;
        });
        if (lease) await this.take(lease);
      }
    } catch (error) {
      failed = true;
      this.o.logger.warn('lease call failed', { shard: this.o.shard, error: (error as Error).message });
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
    this.schedule(Math.max(0, interval - (this.o.now() - now)));
  }

  /** A lease call bounded in time: a hung call must not stop the lease loop for good. */
  private call<T>(what: string, call: Promise<T>, boundMs = Number.POSITIVE_INFINITY): Promise<T> {
    const configured = this.o.leaseCallTimeoutMs ?? this.o.leaseDurationMs / 3;
    return within(this.o.timers, Math.min(configured, boundMs), what, call);
  }

  /**
   * A renewal's grant, on time or late: it extends the lease while the grant it renewed is still the
   * one held (same fence, not lost since) and only forward. Safe however late it lands: the store
   * renews only the owner's current fence, and the new expiry counts from before the call.
   */
  private extend(held: Lease, renewed: Lease | undefined): void {
    const current = this.lease;
    if (!renewed || this.stopped || current?.fence !== held.fence) return;
    if (renewed.expiresAt <= current.expiresAt) return;
    this.lease = renewed;
    this.armExpiry(renewed);
  }

  /** An acquisition granted after its call was given up: taken when nothing is held and it is still good. */
  private takeLate(lease: Lease | undefined): void {
    if (!lease || this.stopped || this.lease || this.o.now() >= this.marginOf(lease)) return;
    void this.take(lease).catch(() => undefined);
  }

  private async take(lease: Lease): Promise<void> {
    if (this.draining) {
      await this.o.leases.release(lease);
      return;
    }
    this.lease = lease;
    this.armExpiry(lease);
    this.o.logger.info('shard lease acquired', { shard: this.o.shard, fence: lease.fence });
    this.events.held(lease);
  }

  private lose(reason: string): void {
    this.o.logger.warn('shard lease lost: stopping its sessions', { shard: this.o.shard, reason });
    this.o.metrics('LeaseLost');
    this.o.timers.clearTimeout(this.expiryTimer);
    this.lease = undefined;
    this.events.lost(reason);
  }
}
