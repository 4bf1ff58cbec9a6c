import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '#shared/logger.ts';
import type { Lease } from '#shared/ports/lease-store.ts';
import { InMemoryLeaseStore } from '#shared/testing/in-memory-lease-store.ts';
import { LeaseKeeper, type LeaseKeeperOptions } from './lease-keeper.ts';
import type { RunnerMetric } from './metrics.ts';
import type { Timers } from './session.ts';

// One shard's lease on fake timers: renewal at a third, loss at the safety margin (a sixth before
// expiry) when renewals fail, a hung call bounded, the retries in quarters through a short outage,
// and the release on shutdown. The shard is a recorder of held/lost.

const logger = createLogger('test');
logger.setLogLevel('SILENT');

const LEASE_MS = 30_000;

const timers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

const keepers: LeaseKeeper[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(Date.parse('2026-01-01T12:00:00.000Z'));
});
afterEach(async () => {
  await Promise.all(keepers.splice(0).map((k) => k.stop()));
  vi.useRealTimers();
});

const setup = (o: Partial<LeaseKeeperOptions> = {}) => {
  const leases = new InMemoryLeaseStore();
  const metrics: RunnerMetric[] = [];
  const events: { held: Lease[]; lost: { reason: string; at: number }[] } = { held: [], lost: [] };
  const keeper = new LeaseKeeper(
    {
      shard: 0,
      runnerId: 'r1',
      leases,
      leaseDurationMs: LEASE_MS,
      timers,
      now: Date.now,
      logger,
      metrics: (name) => void metrics.push(name),
      ...o,
    },
    {
      held: (lease) => void events.held.push(lease),
      lost: (reason) => void events.lost.push({ reason, at: Date.now() }),
    },
  );
  keepers.push(keeper);
  /** Counts renewals; `behave` may replace the store's answer for a call. */
  const renewals = (
    behave?: (call: number, real: () => Promise<Lease | undefined>) => Promise<Lease | undefined>,
  ) => {
    const calls: number[] = [];
    const renew = leases.renew.bind(leases);
    leases.renew = (...args) => {
      calls.push(Date.now());
      const real = () => renew(...args);
      return behave ? behave(calls.length, real) : real();
    };
    return calls;
  };
  /** Starts the keeper and lets it take the free lease (fence 1). */
  const acquire = async () => {
    keeper.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(events.held.map((l) => l.fence)).toEqual([1]);
    return Date.now();
  };
  return { keeper, leases, metrics, events, renewals, acquire, ...o };
};

describe('the lease keeper', () => {
  it('takes a free lease, emits held with its fence, and renews it every third of its duration', async () => {
    const { keeper, leases, metrics, events, renewals, acquire } = setup();
    const calls = renewals();
    const acquiredAt = await acquire();
    await vi.advanceTimersByTimeAsync(5 * LEASE_MS);
    expect(calls.map((t) => t - acquiredAt)).toEqual(
      Array.from({ length: 15 }, (_, i) => ((i + 1) * LEASE_MS) / 3),
    );
    expect(keeper.holds()).toBe(true);
    expect(keeper.lease?.fence).toBe(1);
    expect((await leases.get(0))?.expiresAt).toBeGreaterThan(Date.now() + LEASE_MS / 2);
    expect(events.held).toHaveLength(1);
    expect(events.lost).toEqual([]);
    expect(metrics).not.toContain('LeaseLost');
  });

  it('does not emit held while another runner holds the lease, and takes it once that one expires', async () => {
    const { keeper, leases, events } = setup({ acquireRetryMs: 1_000 });
    const other = (await leases.acquire(0, 'r2', Date.now(), 5_000)) as Lease;
    keeper.start();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(events.held).toEqual([]);
    expect(keeper.holds()).toBe(false);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(events.held.map((l) => l.fence)).toEqual([other.fence + 1]);
  });

  it('emits lost at the safety margin (a sixth before expiry) when every renewal fails, not before', async () => {
    const { keeper, leases, metrics, events, renewals, acquire } = setup();
    await acquire();
    const expiresAt = (await leases.get(0))?.expiresAt as number;
    const calls = renewals(async () => {
      throw new Error('DynamoDB unavailable');
    });
    const margin = expiresAt - LEASE_MS / 6;
    await vi.advanceTimersByTimeAsync(margin - Date.now() - 1);
    expect(events.lost).toEqual([]);
    expect(keeper.holds()).toBe(true);
    expect(calls.length).toBeGreaterThan(3); // retried, in shorter and shorter steps
    await vi.advanceTimersByTimeAsync(1);
    expect(events.lost).toEqual([{ reason: 'no renewal before expiry', at: margin }]);
    expect(keeper.holds()).toBe(false);
    expect(keeper.lease).toBeUndefined();
    expect(metrics).toEqual(['LeaseLost']);
  });

  it('emits lost at once when a renewal is refused (another owner took the shard)', async () => {
    const { keeper, events, renewals, acquire } = setup();
    const acquiredAt = await acquire();
    renewals(async () => undefined);
    await vi.advanceTimersByTimeAsync(LEASE_MS / 3);
    expect(events.lost).toEqual([{ reason: 'renewal refused', at: acquiredAt + LEASE_MS / 3 }]);
    expect(keeper.lease).toBeUndefined();
  });

  it('drops a lease past its margin when checked, though no timer has fired yet (a frozen process)', async () => {
    const { keeper, events, acquire } = setup();
    await acquire();
    // The process was frozen: the clock jumped, no timer ran.
    vi.setSystemTime(Date.now() + LEASE_MS);
    expect(keeper.check()).toBeUndefined();
    expect(events.lost.map((l) => l.reason)).toEqual(['expired before renewal']);
  });

  it('gives up a hung renewal after its bound and renews again at once, keeping the lease', async () => {
    const { keeper, events, renewals, acquire } = setup({ leaseCallTimeoutMs: 2_000 });
    const acquiredAt = await acquire();
    const calls = renewals((call, real) => (call === 1 ? new Promise(() => undefined) : real()));
    await vi.advanceTimersByTimeAsync(acquiredAt + LEASE_MS / 3 - Date.now()); // the hung call starts
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000 - 1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // given up
    await vi.advanceTimersByTimeAsync(1); // the next renewal goes out at once, not a third later
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(3 * LEASE_MS);
    expect(calls.length).toBeGreaterThan(5);
    expect(keeper.holds()).toBe(true);
    expect(events.lost).toEqual([]);
  });

  it('keeps the lease through one renewal that hangs for the whole default bound (a third of the lease)', async () => {
    const { keeper, events, renewals, acquire } = setup();
    await acquire();
    const calls = renewals((call, real) => (call === 1 ? new Promise(() => undefined) : real()));
    await vi.advanceTimersByTimeAsync(3 * LEASE_MS);
    expect(calls.length).toBeGreaterThan(5);
    expect(events.lost).toEqual([]);
    expect(keeper.lease?.fence).toBe(1);
  });

  it('releases the lease on stop, so the next runner takes it at once, and renews nothing more', async () => {
    const { keeper, leases, events, renewals, acquire } = setup();
    await acquire();
    const calls = renewals();
    await keeper.stop();
    expect(keeper.lease).toBeUndefined();
    expect(await leases.acquire(0, 'r2', Date.now(), LEASE_MS)).toMatchObject({ fence: 2 });
    await vi.advanceTimersByTimeAsync(3 * LEASE_MS);
    expect(calls).toEqual([]);
    expect(events.lost).toEqual([]); // a release is no loss
  });

  it('keeps renewing a held lease while draining, and releases at once a lease it gets while draining', async () => {
    const { keeper, leases, events, renewals, acquire } = setup({ acquireRetryMs: 1_000 });
    await acquire();
    const calls = renewals();
    keeper.drain();
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expect(calls).toHaveLength(3);
    expect(keeper.holds()).toBe(true);
    // Lost meanwhile (refused), then free again: taken and given back, never emitted as held.
    leases.renew = async () => undefined;
    await vi.advanceTimersByTimeAsync(LEASE_MS / 3);
    expect(events.lost).toHaveLength(1);
    await leases.release((await leases.get(0)) as Lease);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(events.held).toHaveLength(1);
    // Taken again under newer fences (tried every second), each time released by the drain at once.
    const lease = (await leases.get(0)) as Lease;
    expect(lease).toMatchObject({ owner: 'r1', expiresAt: 0 });
    expect(lease.fence).toBeGreaterThan(1);
  });
});

describe('the lease keeper through a short DynamoDB outage (r4: 4 s, 10 s lease)', () => {
  const SHORT_LEASE_MS = 10_000;
  // Phases of the outage after a renewal: the worst ones end shortly before the safety margin.
  const cases = [0, 500, 1000, 1500, 2000, 2500, 2800, 3000, 3200].flatMap((phase) => [
    { mode: 'hang' as const, ms: 4_000, phase },
    { mode: 'fail' as const, ms: 4_900, phase },
  ]);
  /** Renewals that start in [from, from + ms) fail at once, or hang for good (a dead connection). */
  const outage =
    (from: number, ms: number, mode: 'fail' | 'hang') =>
    (_call: number, real: () => Promise<Lease | undefined>): Promise<Lease | undefined> => {
      if (Date.now() < from || Date.now() >= from + ms) return real();
      return mode === 'hang' ? new Promise(() => undefined) : Promise.reject(new Error('ECONNRESET'));
    };

  it.each(cases)(
    'keeps the lease when renewals $mode for $ms ms starting $phase ms after a renewal',
    async ({ mode, ms, phase }) => {
      const { keeper, leases, events, renewals, acquire } = setup({ leaseDurationMs: SHORT_LEASE_MS });
      const acquiredAt = await acquire();
      const from = acquiredAt + SHORT_LEASE_MS / 3 + phase;
      const calls = renewals(outage(from, ms, mode));
      await vi.advanceTimersByTimeAsync(from + ms + 2 * SHORT_LEASE_MS - Date.now());
      expect(calls.some((t) => t >= from && t < from + ms)).toBe(true); // the outage was met
      expect(events.lost).toEqual([]);
      expect(keeper.lease?.fence).toBe(1);
      expect((await leases.get(0))?.expiresAt).toBeGreaterThan(Date.now() + SHORT_LEASE_MS / 2);
    },
  );

  it('keeps the lease when every renewal answers only after its bound (a slow store, a starved process)', async () => {
    const { keeper, events, renewals, acquire } = setup({ leaseDurationMs: SHORT_LEASE_MS });
    await acquire();
    // Each renewal reaches the store and answers 4 s later: past every bound the keeper puts on a
    // call (2.5 s and less), yet well within the lease.
    const calls = renewals(async (_call, real) => {
      await new Promise((r) => setTimeout(r, 4_000));
      return real();
    });
    await vi.advanceTimersByTimeAsync(6 * SHORT_LEASE_MS);
    expect(calls.length).toBeGreaterThan(10);
    expect(events.lost).toEqual([]);
    expect(keeper.holds()).toBe(true);
    expect(keeper.lease?.fence).toBe(1);
  });

  it('takes a lease whose acquisition was granted after the call was given up, without a second grant', async () => {
    const { keeper, leases, events } = setup({ leaseDurationMs: SHORT_LEASE_MS });
    const acquire = leases.acquire.bind(leases);
    let acquisitions = 0;
    leases.acquire = async (...args) => {
      acquisitions += 1;
      await new Promise((r) => setTimeout(r, 4_000)); // past the call's bound (a third of the lease)
      return acquire(...args);
    };
    keeper.start();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(events.held.map((l) => l.fence)).toEqual([1]);
    expect(keeper.holds()).toBe(true);
    await vi.advanceTimersByTimeAsync(3 * SHORT_LEASE_MS);
    expect(events.held.map((l) => l.fence)).toEqual([1]); // held since, renewed, never taken anew
    expect(events.lost).toEqual([]);
    expect(acquisitions).toBe(2); // the second try, started while the first was late, was refused
  });

  it('still emits lost at the margin when renewals hang for good, before the lease can be taken', async () => {
    const { leases, events, renewals, acquire } = setup({ leaseDurationMs: SHORT_LEASE_MS });
    await acquire();
    const expiresAt = (await leases.get(0))?.expiresAt as number;
    renewals(outage(Date.now(), 60_000, 'hang'));
    await vi.advanceTimersByTimeAsync(expiresAt - SHORT_LEASE_MS / 6 - Date.now() - 1);
    expect(events.lost).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events.lost).toHaveLength(1);
    // At the margin (within the millisecond the timers round it to), well before the lease expires.
    expect(Math.abs((events.lost[0]?.at as number) - (expiresAt - SHORT_LEASE_MS / 6))).toBeLessThan(1);
    expect(Date.now()).toBeLessThan(expiresAt);
  });
});
