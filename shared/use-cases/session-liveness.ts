import type { Session } from '../domain/entities.ts';
import type { SessionStatus } from '../domain/session-status.ts';
import type { Clock } from '../ports/clock.ts';
import type { LeaseStore } from '../ports/lease-store.ts';

/** `lastError` of a session whose runner is gone: the stored status is what the dead runner last wrote. */
export const RUNNER_UNAVAILABLE = 'RUNNER_UNAVAILABLE';

/**
 * A runner refreshes `runnerSeenAt` of every session it holds each HEARTBEAT_MS (30 s by default);
 * three missed heartbeats mean the runner lost the session even if it still holds the shard.
 */
export const HEARTBEAT_STALE_MS = 90_000;

/** Statuses that only mean something while a runner holds the session's socket. */
const HELD: ReadonlySet<SessionStatus> = new Set(['CONNECTING', 'QR_READY', 'CONNECTED']);

export interface LivenessDeps {
  leases: Pick<LeaseStore, 'get'>;
  clock: Clock;
}

/**
 * The session as a tenant should see it. A held status is true only while a runner holds the
 * session: the shard's lease is live, it is the grant that last wrote the session (a newer grant
 * has not taken the session over yet), and the heartbeat is fresh. Otherwise the session is shown
 * CONNECTING with `lastError: RUNNER_UNAVAILABLE` (its QR is gone too) until a runner writes it again.
 * Derived when read, so it needs no writer: a crashed runner cannot leave a session looking up.
 */
export const withRunnerLiveness = async (deps: LivenessDeps, session: Session): Promise<Session> => {
  if (!HELD.has(session.status)) return session;
  const now = deps.clock.now().getTime();
  const lease = await deps.leases.get(session.shard);
  const leaseLive = lease !== undefined && lease.expiresAt > now;
  const sameGrant = session.fence === undefined || (lease !== undefined && lease.fence === session.fence);
  const heartbeatFresh =
    session.runnerSeenAt === undefined || now - Date.parse(session.runnerSeenAt) <= HEARTBEAT_STALE_MS;
  if (leaseLive && sameGrant && heartbeatFresh) return session;
  const { qr: _qr, qrExpiresAt: _expires, ...rest } = session;
  return { ...rest, status: 'CONNECTING', lastError: RUNNER_UNAVAILABLE };
};

/** True when the session is shown as waiting for a runner (see withRunnerLiveness). */
export const isRunnerUnavailable = (session: Session): boolean =>
  session.status === 'CONNECTING' && session.lastError === RUNNER_UNAVAILABLE;
