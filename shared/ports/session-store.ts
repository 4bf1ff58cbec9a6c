import type { DesiredState, Session } from '../domain/entities.ts';
import type { SessionStatus } from '../domain/session-status.ts';
import type { Page, PageRequest } from './page.ts';

/** Fields a runner may write along with a status change. `null` removes the attribute. */
export type SessionStatusFields = Partial<{
  [K in 'phoneNumber' | 'lastError' | 'qr' | 'qrExpiresAt' | 'connectedAt' | 'pairingCode' | 'runnerSeenAt']:
    | string
    | null;
}>;

export interface SessionTransition {
  to: SessionStatus;
  /** Narrows the statuses it may come from (within what the status machine allows). */
  from?: SessionStatus[];
  fields?: SessionStatusFields;
  /** The fencing token of the writer's lease; a write carrying an older token than the stored one is refused. */
  fence?: number;
  now: string;
}

export interface SessionStore {
  get(sessionId: string): Promise<Session | undefined>;
  /** Stores a new session; false when the id exists. */
  create(session: Session): Promise<boolean>;
  delete(sessionId: string): Promise<void>;
  setDesiredState(sessionId: string, desiredState: DesiredState, now: string): Promise<Session | undefined>;
  /**
   * Moves the session to `to` only from a status that allows it (the status machine) and only with a
   * fence not older than the stored one. Returns the updated session, or undefined when the guard failed.
   */
  transition(sessionId: string, transition: SessionTransition): Promise<Session | undefined>;
  /**
   * Marks the session as seen by its runner (heartbeat), fenced like `transition`. With `listing`
   * (the runner stamping a shard it took over), a session stored before the per-tenant listing
   * existed joins it in the same write. With `reconnecting` (a new owner stamping a session it has
   * not reopened yet), a session still CONNECTED or QR_READY (the previous owner's socket, its QR
   * and pairing code) becomes CONNECTING without them in that same write; any other is only stamped.
   */
  touch(
    sessionId: string,
    fence: number,
    now: string,
    listing?: Pick<Session, 'tenantId' | 'createdAt'>,
    reconnecting?: boolean,
  ): Promise<boolean>;
  /** Every session of a shard (the runner's work list). */
  listByShard(shard: number): Promise<Session[]>;
  /** A page of a tenant's sessions, newest first (stored statuses: liveness is the caller's). */
  listByTenant(tenantId: string, page: PageRequest): Promise<Page<Session>>;
}
