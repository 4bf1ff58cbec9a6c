export interface Lease {
  shard: number;
  owner: string;
  /** Grows with every new grant of the shard: the fencing token carried on every write. */
  fence: number;
  /** Epoch milliseconds after which another runner may take the shard. */
  expiresAt: number;
}

/** Shard leases: at most one live owner per shard, and a fence that orders owners in time. */
export interface LeaseStore {
  /** Takes the shard if it is free or expired (a new grant, fence + 1); undefined when another owner holds it. */
  acquire(shard: number, owner: string, now: number, durationMs: number): Promise<Lease | undefined>;
  /** Extends a lease this owner still holds under this fence; undefined when it was lost. */
  renew(lease: Lease, now: number, durationMs: number): Promise<Lease | undefined>;
  /** Gives the shard up at once (only if still held under this fence). */
  release(lease: Lease): Promise<void>;
  get(shard: number): Promise<Lease | undefined>;
}
