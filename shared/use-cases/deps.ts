import type { Session } from '../domain/entities.ts';
import { NotFoundError } from '../errors.ts';
import type { ChatbotStore } from '../ports/chatbot-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { CommandPublisher } from '../ports/command-publisher.ts';
import type { ConversationStore } from '../ports/conversation-store.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import type { LeaseStore } from '../ports/lease-store.ts';
import type { MessageStore } from '../ports/message-store.ts';
import type { LimitSpec, RateLimiter } from '../ports/rate-limiter.ts';
import type { SessionStore } from '../ports/session-store.ts';
import type { TenantStore } from '../ports/tenant-store.ts';
import type { UsageStore } from '../ports/usage-store.ts';

/** The ports the tenant API's use cases run on. */
export interface GatewayDeps {
  tenants: TenantStore;
  chatbots: ChatbotStore;
  sessions: SessionStore;
  messages: MessageStore;
  /** API sends are part of their conversation and count as messages out, like AI replies. */
  conversations: ConversationStore;
  usage: UsageStore;
  idempotency: IdempotencyStore;
  /** Sends per tenant per window (a minute): counted in the same write that stores the message. */
  sendRate: Required<LimitSpec>;
  /** Inits per tenant per minute. */
  initRate: RateLimiter;
  /** Sessions per tenant in all: consumed when init creates one, released when it is undone. */
  sessionCap: RateLimiter;
  /** The `model` values a chatbot may name on this stage. */
  allowedModels: readonly string[];
  commands: CommandPublisher;
  /** Read only: whether a runner still holds a session's shard (see session-liveness.ts). */
  leases: Pick<LeaseStore, 'get'>;
  clock: Clock;
  shardCount: number;
}

/**
 * The tenant's session, or 404 for an unknown id, for another tenant's (never 403, never its data)
 * and for one its tenant deleted (DELETING: only the session listing still shows it).
 */
export const loadOwnSession = async (
  deps: Pick<GatewayDeps, 'sessions'>,
  tenantId: string,
  sessionId: string,
): Promise<Session> => {
  const session = await deps.sessions.get(sessionId);
  if (!session || session.tenantId !== tenantId || session.status === 'DELETING') {
    throw new NotFoundError('SESSION_NOT_FOUND', 'No such session');
  }
  return session;
};
