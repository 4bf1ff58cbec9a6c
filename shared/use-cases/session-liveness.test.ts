import { describe, expect, it } from 'vitest';
import type { Session } from '../domain/entities.ts';
import { FakeClock } from '../testing/fakes.ts';
import { InMemoryLeaseStore } from '../testing/in-memory-lease-store.ts';
import { HEARTBEAT_STALE_MS, RUNNER_UNAVAILABLE, withRunnerLiveness } from './session-liveness.ts';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

const connected = (overrides: Partial<Session> = {}): Session => ({
  sessionId: 's1',
  tenantId: 't1',
  chatbotId: 'bot',
  shard: 0,
  status: 'CONNECTED',
  desiredState: 'running',
  phoneNumber: '4915100000000',
  fence: 1,
  runnerSeenAt: new Date(T0).toISOString(),
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(T0).toISOString(),
  ...overrides,
});

const setup = async (leaseMs: number) => {
  const clock = new FakeClock(new Date(T0));
  const leases = new InMemoryLeaseStore();
  const lease = await leases.acquire(0, 'runner-a', T0, leaseMs);
  return { clock, leases, lease, deps: { clock, leases } };
};

describe('withRunnerLiveness', () => {
  it('shows CONNECTED while the lease that wrote the session is live and the heartbeat fresh', async () => {
    const { deps, clock } = await setup(30_000);
    clock.advance(20_000);
    expect(await withRunnerLiveness(deps, connected())).toMatchObject({ status: 'CONNECTED' });
  });

  it('shows CONNECTING with RUNNER_UNAVAILABLE once the lease has expired', async () => {
    const { deps, clock } = await setup(30_000);
    clock.advance(30_001);
    const seen = await withRunnerLiveness(deps, connected({ lastError: undefined }));
    expect(seen).toMatchObject({
      status: 'CONNECTING',
      lastError: RUNNER_UNAVAILABLE,
      phoneNumber: '4915100000000',
    });
  });

  it('shows RUNNER_UNAVAILABLE when no runner ever took the shard', async () => {
    const clock = new FakeClock(new Date(T0));
    const seen = await withRunnerLiveness(
      { clock, leases: new InMemoryLeaseStore() },
      connected({ status: 'CONNECTING', fence: undefined, runnerSeenAt: undefined }),
    );
    expect(seen).toMatchObject({ status: 'CONNECTING', lastError: RUNNER_UNAVAILABLE });
  });

  it('shows RUNNER_UNAVAILABLE while a newer grant has not taken the session over yet', async () => {
    const { deps, leases, lease, clock } = await setup(30_000);
    await leases.release(lease as NonNullable<typeof lease>);
    await leases.acquire(0, 'runner-b', clock.now().getTime(), 30_000);
    expect(await withRunnerLiveness(deps, connected({ fence: 1 }))).toMatchObject({
      lastError: RUNNER_UNAVAILABLE,
    });
    expect(await withRunnerLiveness(deps, connected({ fence: 2 }))).toMatchObject({ status: 'CONNECTED' });
  });

  it('shows RUNNER_UNAVAILABLE when the heartbeat is stale though the shard is held', async () => {
    const { deps, clock } = await setup(10 * HEARTBEAT_STALE_MS);
    clock.advance(HEARTBEAT_STALE_MS + 1);
    expect(await withRunnerLiveness(deps, connected())).toMatchObject({ lastError: RUNNER_UNAVAILABLE });
  });

  it('drops the QR of a session whose runner is gone', async () => {
    const { deps, clock } = await setup(30_000);
    clock.advance(60_000);
    const seen = await withRunnerLiveness(
      deps,
      connected({ status: 'QR_READY', qr: 'ref,key', qrExpiresAt: new Date(T0 + 90_000).toISOString() }),
    );
    expect(seen.status).toBe('CONNECTING');
    expect(seen.qr).toBeUndefined();
    expect(seen.qrExpiresAt).toBeUndefined();
  });

  it('leaves idle statuses alone: they need no runner', async () => {
    const clock = new FakeClock(new Date(T0));
    const deps = { clock, leases: new InMemoryLeaseStore() };
    for (const status of ['DISCONNECTED', 'LOGGED_OUT'] as const) {
      expect(await withRunnerLiveness(deps, connected({ status, lastError: 'QR_TIMEOUT' }))).toMatchObject({
        status,
        lastError: 'QR_TIMEOUT',
      });
    }
  });
});
