import type { Lease, LeaseStore } from '../ports/lease-store.ts';

export class InMemoryLeaseStore implements LeaseStore {
  readonly leases = new Map<number, Lease>();

  async acquire(shard: number, owner: string, now: number, durationMs: number): Promise<Lease | undefined> {
    const current = this.leases.get(shard);
    if (current && current.expiresAt > now) return undefined;
    const lease = { shard, owner, fence: (current?.fence ?? 0) + 1, expiresAt: now + durationMs };
    this.leases.set(shard, lease);
    return { ...lease };
  }

  async renew(lease: Lease, now: number, durationMs: number): Promise<Lease | undefined> {
    const current = this.leases.get(lease.shard);
    if (
      !current ||
      current.owner !== lease.owner ||
      current.fence !== lease.fence ||
      current.expiresAt <= now
    ) {
      return undefined;
    }
    current.expiresAt = now + durationMs;
    return { ...current };
  }

  async release(lease: Lease): Promise<void> {
    const current = this.leases.get(lease.shard);
    if (current && current.owner === lease.owner && current.fence === lease.fence) current.expiresAt = 0;
  }

  async get(shard: number): Promise<Lease | undefined> {
    const current = this.leases.get(shard);
    return current && { ...current };
  }
}
