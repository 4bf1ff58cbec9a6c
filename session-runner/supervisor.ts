import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Lease, LeaseStore } from '#shared/ports/lease-store.ts';
import { CommandConsumer } from './command-consumer.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import type { SessionContext } from './session.ts';
import { ShardSessions } from './shard-sessions.ts';

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
  /** Visibility timeout of a received command (renewed while held; default 30 s). */
  commandVisibilitySeconds?: number;
  /** Deletes a session's conversations and messages (a `delete` command with `purge`). */
  purgeSessionMessages?: (sessionId: string) => Promise<void>;
  session: SessionContext;
  /** Started per held shard: re-enqueues its sends that never left (send-sweeper.ts); stopped on loss. */
  sweepSends?: (shard: number, fence: () => number | undefined) => { stop(): void };
}

/**
 * One shard this runner tries to hold: wires its lease keeper to its sessions, its command consumer
 * and its send sweeper. Held: the consumer and sweeper start and the sessions are resumed; lost:
 * all of them stop at once.
 */
class ShardWorker {
  readonly keeper: LeaseKeeper;
  readonly sessions: ShardSessions;
  private consumer?: CommandConsumer;
  private sweeper?: { stop(): void };

  constructor(
    readonly shard: number,
    private readonly o: SupervisorOptions,
  ) {
    this.keeper = new LeaseKeeper(
      {
        shard,
        runnerId: o.runnerId,
        leases: o.leases,
        leaseDurationMs: o.leaseDurationMs,
        ...(o.leaseCallTimeoutMs !== undefined && { leaseCallTimeoutMs: o.leaseCallTimeoutMs }),
        ...(o.acquireRetryMs !== undefined && { acquireRetryMs: o.acquireRetryMs }),
        timers: o.session.timers,
        now: o.session.now,
        logger: o.session.logger,
        metrics: o.session.metrics,
      },
      { held: (lease) => this.held(lease), lost: () => this.lost() },
    );
    this.sessions = new ShardSessions({
      shard,
      grant: this.keeper,
      session: o.session,
      ...(o.staggerMs !== undefined && { staggerMs: o.staggerMs }),
      ...(o.resumeConcurrency !== undefined && { resumeConcurrency: o.resumeConcurrency }),
      ...(o.sendWaitMs !== undefined && { sendWaitMs: o.sendWaitMs }),
      ...(o.purgeSessionMessages && { purgeSessionMessages: o.purgeSessionMessages }),
    });
  }

  /** False while the shard is held but its sessions are not resumed yet (`/healthz` answers 503). */
  ready = (): boolean => {
    const lease = this.keeper.lease;
    return lease === undefined || this.sessions.resumedUnder(lease.fence);
  };

  start(): void {
    this.keeper.start();
  }

  /**
   * SIGTERM: finish what is in flight, flush every session, release the lease. The lease keeps being
   * renewed until the sockets are closed, so it never lapses while this runner still holds them.
   */
  async shutdown(): Promise<void> {
    this.keeper.drain();
    this.sessions.drain();
    this.sweeper?.stop();
    // The receive under way ends by itself (its wait) and gives back what it brings, meanwhile the
    // sockets close once the commands in flight are done.
    const stopping = this.consumer?.stop();
    await this.consumer?.idle();
    await this.sessions.shutdown();
    await stopping;
    await this.keeper.stop();
  }

  /** The heartbeat: a lease past its margin is dropped; a held one refreshes its sessions. */
  async heartbeat(): Promise<void> {
    const lease = this.keeper.check();
    if (lease) await this.sessions.heartbeat(lease);
  }

  private held(lease: Lease): void {
    this.consumer = new CommandConsumer({
      sqs: this.o.sqs,
      queueUrl: this.o.commandQueueUrls[this.shard] as string,
      handle: (command) => this.sessions.handle(command),
      logger: this.o.session.logger,
      waitSeconds: this.o.receiveWaitSeconds,
      visibilitySeconds: this.o.commandVisibilitySeconds,
    });
    this.consumer.start();
    this.sweeper = this.o.sweepSends?.(this.shard, () =>
      this.keeper.holds() && this.keeper.lease?.fence === lease.fence ? lease.fence : undefined,
    );
    void this.sessions.resume(lease);
  }

  private lost(): void {
    this.sweeper?.stop();
    this.sweeper = undefined;
    this.sessions.halt();
    void this.consumer?.stop();
    this.consumer = undefined;
  }
}

/** Holds the leases of the shards this runner serves and runs their sessions. */
export class Supervisor {
  private readonly workers: ShardWorker[];
  private heartbeatTimer?: unknown;
  private stopped = false;

  constructor(private readonly options: SupervisorOptions) {
    this.workers = options.shards.map((shard) => new ShardWorker(shard, options));
  }

  start(): void {
    for (const worker of this.workers) worker.start();
    this.scheduleHeartbeat();
  }

  /** Whether every held shard has resumed its sessions (`/healthz` is 503 until then). */
  ready(): boolean {
    return this.workers.every((w) => w.ready());
  }

  /** Shards held now, and their running sessions (health and tests). */
  status(): { shard: number; fence?: number; sessions: number }[] {
    return this.workers.map((w) => ({
      shard: w.shard,
      fence: w.keeper.lease?.fence,
      sessions: w.sessions.sessions.size,
    }));
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    this.options.session.timers.clearTimeout(this.heartbeatTimer);
    await Promise.allSettled(this.workers.map((w) => w.shutdown()));
  }

  /** Every `heartbeatMs`, armed again before the beat runs (a slow beat does not delay the next). */
  private scheduleHeartbeat(): void {
    if (this.stopped) return;
    this.heartbeatTimer = this.options.session.timers.setTimeout(() => {
      this.scheduleHeartbeat();
      this.options.session.metrics('RunnerHeartbeat');
      for (const worker of this.workers) void worker.heartbeat();
    }, this.options.heartbeatMs ?? 30_000);
  }
}
