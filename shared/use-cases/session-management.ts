import type { SessionsQueryInput } from '../contracts/management.ts';
import type { Session } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';
import { NotFoundError } from '../errors.ts';
import type { Lease } from '../ports/lease-store.ts';
import type { Page } from '../ports/page.ts';
import type { GatewayDeps } from './deps.ts';
import { withRunnerLiveness } from './session-liveness.ts';

const DEFAULT_LIMIT = 50;
/**
 * Stored pages read at most per listing call. A filter (status, chatbot) may match few sessions:
 * the page then holds fewer than `limit` items, with a `nextCursor` to go on, instead of one
 * request reading a tenant's whole history.
 */
const MAX_STORED_PAGES = 5;

/**
 * A page of the tenant's sessions, newest first, as the tenant sees them: each status after the
 * runner-liveness check, and the `status` filter applies to that status. A filtered page may hold
 * fewer than `limit` items while `nextCursor` says more may follow. 400 INVALID_CURSOR for a
 * cursor that is not one of this tenant's session listing.
 */
export const listSessions = async (
  deps: Pick<GatewayDeps, 'sessions' | 'leases' | 'clock'>,
  tenantId: string,
  query: SessionsQueryInput,
): Promise<Page<Session>> => {
  const limit = query.limit ?? DEFAULT_LIMIT;
  // One lease read per shard per call: a page of sessions shares a handful of shards.
  const leaseReads = new Map<number, Promise<Lease | undefined>>();
  const liveness = {
    clock: deps.clock,
    leases: {
      get: (shard: number) => {
        let read = leaseReads.get(shard);
        if (!read) {
          read = deps.leases.get(shard);
          leaseReads.set(shard, read);
        }
        return read;
      },
    },
  };
  const items: Session[] = [];
  let cursor = query.cursor;
  for (let read = 0; read < MAX_STORED_PAGES && items.length < limit; read++) {
    const page = await deps.sessions.listByTenant(tenantId, { limit: limit - items.length, cursor });
    const seen = await Promise.all(page.items.map((s) => withRunnerLiveness(liveness, s)));
    items.push(
      ...seen.filter(
        (s) =>
          (!query.status || s.status === query.status) &&
          (!query.chatbotId || s.chatbotId === query.chatbotId),
      ),
    );
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return { items, ...(cursor && { nextCursor: cursor }) };
};

/**
 * Deletes the tenant's session: it becomes DELETING (final, hidden from every route but the
 * listing), its chatbot is freed (a later init makes a new session), its place in the tenant's
 * session cap is given back, and the runner gets a `delete` command: it unlinks the device if it
 * can, deletes the auth state and the record (and with `purge` the conversations and messages).
 * Asking again while it is DELETING enqueues the command again (a failed enqueue is retried so).
 */
export const deleteSession = async (
  deps: Pick<GatewayDeps, 'sessions' | 'chatbots' | 'commands' | 'sessionCap' | 'clock'>,
  tenantId: string,
  sessionId: string,
  options: { purge: boolean },
): Promise<{ sessionId: string; status: 'DELETING' }> => {
  const session = await deps.sessions.get(sessionId);
  if (!session || session.tenantId !== tenantId)
    throw new NotFoundError('SESSION_NOT_FOUND', 'No such session');
  const clock = deps.clock.now();
  if (session.status !== 'DELETING') {
    const marked = await deps.sessions.transition(sessionId, { to: 'DELETING', now: clock.toISOString() });
    // Refused only when it went meanwhile (deleted) or another request marked it first.
    if (marked) await deps.sessionCap.release(tenantId, clock).catch(() => undefined);
    else if (!(await deps.sessions.get(sessionId)))
      throw new NotFoundError('SESSION_NOT_FOUND', 'No such session');
  }
  await deps.chatbots.detachSession(tenantId, session.chatbotId, sessionId);
  await deps.commands.publish(session.shard, {
    v: 1,
    type: 'delete',
    sessionId,
    commandId: newId(),
    purge: options.purge,
  });
  return { sessionId, status: 'DELETING' };
};
