import type {
  Chatbot,
  DesiredState,
  IdempotencyRecord,
  Message,
  Session,
  Tenant,
} from '../domain/entities.ts';
import { canTransition, isMessageProgress } from '../domain/session-status.ts';
import type { ChatbotSettings, ChatbotStore } from '../ports/chatbot-store.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import type {
  ClaimOutcome,
  MessageStatusUpdate,
  MessageStore,
  QueuedSend,
  SendClaim,
  SendGiveUp,
  SentMedia,
} from '../ports/message-store.ts';
import { InvalidCursorError, type Page, type PageRequest } from '../ports/page.ts';
import {
  type LimitSpec,
  type RateDecision,
  type RateLimiter,
  retryAfterOf,
  windowOf,
} from '../ports/rate-limiter.ts';
import type { SessionStatusFields, SessionStore, SessionTransition } from '../ports/session-store.ts';
import type { ApiKeyListing, StoredApiKey, TenantStore } from '../ports/tenant-store.ts';

// In-memory fakes of the store ports, for unit tests of use cases. The contract suites in
// shared/adapters run the same tests against these and the DynamoDB adapters.

const copy = <T>(value: T): T => structuredClone(value);

const applyFields = <T extends object>(target: T, fields: SessionStatusFields | undefined): T => {
  const next = { ...target } as Record<string, unknown>;
  for (const [k, v] of Object.entries(fields ?? {})) {
    if (v === null) delete next[k];
    else if (v !== undefined) next[k] = v;
  }
  return next as T;
};

export class InMemoryTenantStore implements TenantStore {
  readonly tenants = new Map<string, Tenant>();
  readonly keys = new Map<string, StoredApiKey>();

  async create(tenant: Tenant, key: StoredApiKey): Promise<void> {
    if (this.tenants.has(tenant.tenantId)) throw new Error('Tenant id collision');
    this.tenants.set(tenant.tenantId, copy(tenant));
    await this.addApiKey(key);
  }
  async addApiKey(key: StoredApiKey): Promise<void> {
    if (this.keys.has(key.hash)) throw new Error('API key hash collision');
    this.keys.set(key.hash, copy(key));
  }
  async revokeApiKey(apiKeyHash: string): Promise<boolean> {
    return this.keys.delete(apiKeyHash);
  }
  async findTenantIdByKeyHash(apiKeyHash: string): Promise<string | undefined> {
    return this.keys.get(apiKeyHash)?.tenantId;
  }
  async get(tenantId: string): Promise<Tenant | undefined> {
    return copy(this.tenants.get(tenantId));
  }
  async list(): Promise<Tenant[]> {
    return [...this.tenants.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(copy);
  }
  async listApiKeys(tenantId: string): Promise<ApiKeyListing[]> {
    return [...this.keys.values()]
      .filter((k) => k.tenantId === tenantId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((k) => ({ prefix: k.prefix, createdAt: k.createdAt }));
  }
  async setDisabled(tenantId: string, disabled: boolean, now: string): Promise<Tenant | undefined> {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) return undefined;
    Object.assign(tenant, { disabled, updatedAt: now });
    return copy(tenant);
  }
}

export class InMemoryChatbotStore implements ChatbotStore {
  readonly items = new Map<string, Chatbot>();
  private key = (tenantId: string, chatbotId: string) => `${tenantId}#${chatbotId}`;

  async get(tenantId: string, chatbotId: string): Promise<Chatbot | undefined> {
    return copy(this.items.get(this.key(tenantId, chatbotId)));
  }
  async createIfMissing(chatbot: Chatbot): Promise<Chatbot> {
    const key = this.key(chatbot.tenantId, chatbot.chatbotId);
    if (!this.items.has(key)) this.items.set(key, copy(chatbot));
    return copy(this.items.get(key) as Chatbot);
  }
  async upsert(defaults: Chatbot, settings: ChatbotSettings, now: string): Promise<Chatbot> {
    const key = this.key(defaults.tenantId, defaults.chatbotId);
    const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
    const next = { ...defaults, ...this.items.get(key), ...given, updatedAt: now };
    this.items.set(key, next);
    return copy(next);
  }
  async attachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<boolean> {
    const chatbot = this.items.get(this.key(tenantId, chatbotId));
    if (!chatbot || chatbot.sessionId) return false;
    chatbot.sessionId = sessionId;
    return true;
  }
  async detachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<void> {
    const chatbot = this.items.get(this.key(tenantId, chatbotId));
    if (chatbot?.sessionId === sessionId) delete chatbot.sessionId;
  }
  async list(tenantId: string, page: PageRequest): Promise<Page<Chatbot>> {
    const sortKey = (c: Chatbot) => `${c.createdAt}#${c.chatbotId}`;
    const own = [...this.items.values()].filter((c) => c.tenantId === tenantId);
    return pageOf(
      own.sort((a, b) => sortKey(b).localeCompare(sortKey(a))),
      sortKey,
      page,
    );
  }
  async delete(tenantId: string, chatbotId: string): Promise<'deleted' | 'has_session' | 'missing'> {
    const chatbot = this.items.get(this.key(tenantId, chatbotId));
    if (!chatbot) return 'missing';
    if (chatbot.sessionId) return 'has_session';
    this.items.delete(this.key(tenantId, chatbotId));
    return 'deleted';
  }
}

export class InMemorySessionStore implements SessionStore {
  readonly items = new Map<string, Session>();

  async get(sessionId: string): Promise<Session | undefined> {
    return copy(this.items.get(sessionId));
  }
  async create(session: Session): Promise<boolean> {
    if (this.items.has(session.sessionId)) return false;
    this.items.set(session.sessionId, copy(session));
    return true;
  }
  async delete(sessionId: string): Promise<void> {
    this.items.delete(sessionId);
  }
  async setDesiredState(
    sessionId: string,
    desiredState: DesiredState,
    now: string,
  ): Promise<Session | undefined> {
    const session = this.items.get(sessionId);
    if (!session) return undefined;
    Object.assign(session, { desiredState, updatedAt: now });
    return copy(session);
  }
  async transition(sessionId: string, t: SessionTransition): Promise<Session | undefined> {
    const session = this.items.get(sessionId);
    if (!session || !canTransition(session.status, t.to) || !this.fenceOk(session, t.fence)) return undefined;
    if (t.from && !t.from.includes(session.status)) return undefined;
    const next = applyFields(session, t.fields);
    Object.assign(next, { status: t.to, updatedAt: t.now }, t.fence !== undefined && { fence: t.fence });
    this.items.set(sessionId, next);
    return copy(next);
  }
  async touch(
    sessionId: string,
    fence: number,
    now: string,
    _listing?: Pick<Session, 'tenantId' | 'createdAt'>,
    reconnecting?: boolean,
  ): Promise<boolean> {
    const session = this.items.get(sessionId);
    if (!session || !this.fenceOk(session, fence)) return false;
    Object.assign(session, { runnerSeenAt: now, fence });
    if (reconnecting && (session.status === 'CONNECTED' || session.status === 'QR_READY')) {
      Object.assign(session, { status: 'CONNECTING', updatedAt: now });
      for (const field of ['qr', 'qrExpiresAt', 'pairingCode'] as const) delete session[field];
    }
    return true;
  }
  async listByShard(shard: number): Promise<Session[]> {
    return [...this.items.values()].filter((s) => s.shard === shard).map(copy);
  }
  async listByTenant(tenantId: string, page: PageRequest): Promise<Page<Session>> {
    const sortKey = (x: Session) => `${x.createdAt}#${x.sessionId}`;
    const own = [...this.items.values()].filter((x) => x.tenantId === tenantId);
    return pageOf(
      own.sort((a, b) => sortKey(b).localeCompare(sortKey(a))),
      sortKey,
      page,
    );
  }
  private fenceOk = (session: Session, fence: number | undefined) =>
    fence === undefined || session.fence === undefined || session.fence <= fence;
}

export class InMemoryMessageStore implements MessageStore {
  readonly items = new Map<string, Message>();
  /** The runner's bookkeeping per message, kept out of the entity as the DynamoDB adapter does. */
  private readonly runner = new Map<
    string,
    { fence?: number; claimedBy?: string; claimedAt?: string; resends?: number; resentAt?: string }
  >();
  private readonly waIds = new Map<string, string>();

  async get(messageId: string): Promise<Message | undefined> {
    return copy(this.items.get(messageId));
  }
  async putIfAbsent(message: Message): Promise<boolean> {
    if (this.items.has(message.messageId)) return false;
    this.items.set(message.messageId, copy(message));
    return true;
  }
  async delete(messageId: string): Promise<void> {
    this.items.delete(messageId);
    this.runner.delete(messageId);
  }
  async updateStatus(messageId: string, update: MessageStatusUpdate): Promise<Message | undefined> {
    const message = this.items.get(messageId);
    if (!message || !isMessageProgress(message.status, update.status)) return undefined;
    const held = this.runner.get(messageId) ?? {};
    if (update.fence !== undefined && held.fence !== undefined && held.fence > update.fence) return undefined;
    if (update.sessionId !== undefined && message.sessionId !== update.sessionId) return undefined;
    if (update.sentMedia && !message.media) return undefined; // as DynamoDB's condition on `media`
    Object.assign(
      message,
      { status: update.status, updatedAt: update.now },
      update.waMessageId !== undefined && { waMessageId: update.waMessageId },
      update.error !== undefined && { error: update.error },
    );
    if (update.sentMedia && message.media) {
      const { size, sha256, waMedia } = update.sentMedia;
      Object.assign(message, { media: { ...message.media, size, sha256 }, waMedia });
    }
    this.runner.set(messageId, { fence: update.fence ?? held.fence });
    return copy(message);
  }
  async claimSend(messageId: string, claim: SendClaim): Promise<ClaimOutcome> {
    const message = this.items.get(messageId);
    if (!message || message.sessionId !== claim.sessionId || message.tenantId !== claim.tenantId)
      return { kind: 'foreign' };
    if (message.status !== 'QUEUED') return { kind: 'final', message: copy(message) };
    const held = this.runner.get(messageId) ?? {};
    const free =
      held.fence === undefined ||
      held.fence < claim.fence ||
      (held.fence === claim.fence && (held.claimedAt === undefined || held.claimedAt < claim.staleBefore));
    if (!free) return { kind: 'busy' };
    this.runner.set(messageId, {
      ...held,
      fence: claim.fence,
      claimedBy: claim.runnerId,
      claimedAt: claim.now,
    });
    message.waMessageId = claim.waMessageId;
    this.waIds.set(`${claim.sessionId}#${claim.waMessageId}`, messageId);
    return { kind: 'claimed', message: copy(message) };
  }
  async releaseSend(messageId: string, holder: { fence: number; runnerId: string }): Promise<void> {
    const held = this.runner.get(messageId);
    if (held?.fence === holder.fence && held.claimedBy === holder.runnerId)
      this.runner.set(messageId, { fence: held.fence, resends: held.resends, resentAt: held.resentAt });
  }
  async listQueued(sessionId: string, page: { createdBefore: string; limit: number }): Promise<QueuedSend[]> {
    const sortKey = (m: Message) => `${m.createdAt}#${m.messageId}`;
    return [...this.items.values()]
      .filter((m) => m.sessionId === sessionId && m.status === 'QUEUED' && sortKey(m) < page.createdBefore)
      .sort((a, b) => sortKey(a).localeCompare(sortKey(b)))
      .slice(0, page.limit)
      .map((m) => {
        const held = this.runner.get(m.messageId) ?? {};
        return {
          message: copy(m),
          resends: held.resends ?? 0,
          ...(held.claimedAt !== undefined && { claimedAt: held.claimedAt }),
          ...(held.resentAt !== undefined && { resentAt: held.resentAt }),
        };
      });
  }
  async noteResend(messageId: string, holder: { fence: number; now: string }): Promise<number | undefined> {
    const message = this.items.get(messageId);
    const held = this.runner.get(messageId) ?? {};
    if (message?.status !== 'QUEUED' || (held.fence !== undefined && held.fence > holder.fence))
      return undefined;
    const resends = (held.resends ?? 0) + 1;
    this.runner.set(messageId, { ...held, resends, resentAt: holder.now });
    return resends;
  }
  async giveUpSend(messageId: string, giveUp: SendGiveUp): Promise<Message | undefined> {
    const message = this.items.get(messageId);
    const held = this.runner.get(messageId) ?? {};
    if (message?.status !== 'QUEUED' || message.sessionId !== giveUp.sessionId) return undefined;
    if (held.fence !== undefined && held.fence > giveUp.fence) return undefined;
    if (held.claimedAt !== undefined && held.claimedAt >= giveUp.claimStaleBefore) return undefined;
    Object.assign(message, { status: 'FAILED', error: giveUp.error, updatedAt: giveUp.now });
    this.runner.set(messageId, { fence: giveUp.fence, resends: held.resends, resentAt: held.resentAt });
    return copy(message);
  }
  async recordSentMedia(
    messageId: string,
    record: { sentMedia: SentMedia; fence: number; sessionId: string },
  ): Promise<Message | undefined> {
    const message = this.items.get(messageId);
    const held = this.runner.get(messageId) ?? {};
    if (!message?.media || message.sessionId !== record.sessionId) return undefined;
    if (!['SENT', 'DELIVERED', 'READ'].includes(message.status)) return undefined;
    if (held.fence !== undefined && held.fence > record.fence) return undefined;
    const { size, sha256, waMedia } = record.sentMedia;
    Object.assign(message, { media: { ...message.media, size, sha256 }, waMedia });
    return copy(message);
  }
  async findByWaMessageId(sessionId: string, waMessageId: string): Promise<Message | undefined> {
    const messageId = this.waIds.get(`${sessionId}#${waMessageId}`);
    const message = messageId ? this.items.get(messageId) : undefined;
    return message?.sessionId === sessionId ? copy(message) : undefined;
  }
  async findIdByWaMessageId(sessionId: string, waMessageId: string): Promise<string | undefined> {
    return (await this.findByWaMessageId(sessionId, waMessageId))?.messageId;
  }
  async listByConversation(
    conversationId: string,
    page: PageRequest & { newestFirst?: boolean },
  ): Promise<Page<Message>> {
    const sortKey = (m: Message) => `${m.createdAt}#${m.messageId}`;
    const sorted = [...this.items.values()]
      .filter((m) => m.conversationId === conversationId)
      .sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    if (page.newestFirst) sorted.reverse();
    return pageOf(sorted, sortKey, page);
  }
}

/** Pages a sorted list with a cursor naming the last item's sort key (opaque to callers, like DynamoDB's). */
export const pageOf = <T>(sorted: T[], sortKey: (item: T) => string, page: PageRequest): Page<T> => {
  let start = 0;
  if (page.cursor) {
    let after: unknown;
    try {
      after = JSON.parse(Buffer.from(page.cursor, 'base64url').toString('utf8')).after;
    } catch {
      throw new InvalidCursorError();
    }
    const index = sorted.findIndex((item) => sortKey(item) === after);
    if (typeof after !== 'string' || index < 0) throw new InvalidCursorError();
    start = index + 1;
  }
  const items = sorted.slice(start, start + page.limit);
  const last = items.at(-1);
  return {
    items: items.map(copy),
    ...(start + page.limit < sorted.length &&
      last && { nextCursor: Buffer.from(JSON.stringify({ after: sortKey(last) })).toString('base64url') }),
  };
};

export class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly items = new Map<string, IdempotencyRecord>();
  private key = (tenantId: string, key: string) => `${tenantId}#${key}`;

  async get(tenantId: string, key: string, now: Date): Promise<IdempotencyRecord | undefined> {
    const record = this.items.get(this.key(tenantId, key));
    return record && Date.parse(record.expiresAt) > now.getTime() ? copy(record) : undefined;
  }
  async claim(record: IdempotencyRecord, now: Date): Promise<boolean> {
    if (await this.get(record.tenantId, record.key, now)) return false;
    this.items.set(this.key(record.tenantId, record.key), copy(record));
    return true;
  }
  async release(tenantId: string, key: string): Promise<void> {
    this.items.delete(this.key(tenantId, key));
  }
}

export class InMemoryRateLimiter implements RateLimiter {
  private readonly counters = new Map<string, { window: number; count: number }>();
  private readonly spec: LimitSpec;
  /** A number alone: per minute, like the API's send rate. */
  constructor(spec: number | LimitSpec) {
    this.spec = typeof spec === 'number' ? { limit: spec, windowSeconds: 60 } : spec;
  }

  async consume(tenantId: string, now: Date): Promise<RateDecision> {
    const window = windowOf(this.spec, now);
    const counter = this.counters.get(tenantId);
    if (!counter || counter.window < window) {
      this.counters.set(tenantId, { window, count: 1 });
      return { allowed: true, retryAfterSeconds: 0 };
    }
    if (counter.window === window && counter.count < this.spec.limit) {
      counter.count += 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: retryAfterOf(this.spec, now) };
  }

  async release(tenantId: string, now: Date): Promise<void> {
    const counter = this.counters.get(tenantId);
    if (counter && counter.window === windowOf(this.spec, now) && counter.count > 0) counter.count -= 1;
  }
}
