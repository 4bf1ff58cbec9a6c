import type { ConversationMessageView, ConversationView } from '../contracts/read-api.ts';
import type { Message } from '../domain/entities.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Conversation, ConversationStore } from '../ports/conversation-store.ts';
import type { MessageStore } from '../ports/message-store.ts';
import type { SessionStore } from '../ports/session-store.ts';
import type { UsageDayRecord, UsageStore } from '../ports/usage-store.ts';
import type * as z from '../zod.ts';
import { loadOwnSession } from './deps.ts';

/** The ports of the tenant read API. */
export interface ReadDeps {
  sessions: SessionStore;
  conversations: ConversationStore;
  messages: MessageStore;
  usage: UsageStore;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_USAGE_DAYS = 366;

type ConversationViewT = z.infer<typeof ConversationView>;
type ConversationMessageViewT = z.infer<typeof ConversationMessageView>;

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

export const toConversationView = (c: Conversation): ConversationViewT =>
  defined({
    conversationId: c.conversationId,
    sessionId: c.sessionId,
    peer: c.peer,
    peerName: c.peerName,
    lastMessageAt: c.lastMessageAt,
    lastMessageText: c.lastMessageText,
    messageCount: c.messageCount,
    unreadCount: c.unreadCount,
  });

export const toConversationMessageView = (m: Message): ConversationMessageViewT =>
  defined({
    messageId: m.messageId,
    direction: m.direction,
    from: m.from,
    to: m.to,
    text: m.text,
    media: m.media,
    status: m.status,
    waMessageId: m.waMessageId,
    error: m.error,
    createdAt: m.createdAt,
  });

export interface PageQuery {
  cursor?: string;
  limit?: number;
}

/** The conversations of the tenant's session, most recent activity first; 404 for another tenant's session. */
export const listConversations = async (
  deps: ReadDeps,
  tenantId: string,
  query: PageQuery & { sessionId: string },
) => {
  await loadOwnSession(deps, tenantId, query.sessionId);
  const page = await deps.conversations.listBySession(query.sessionId, {
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
    ...(query.cursor && { cursor: query.cursor }),
  });
  return defined({ items: page.items.map(toConversationView), nextCursor: page.nextCursor });
};

/** The messages of the tenant's conversation, oldest first; 404 for an unknown or another tenant's conversation. */
export const listConversationMessages = async (
  deps: ReadDeps,
  tenantId: string,
  conversationId: string,
  query: PageQuery,
) => {
  const conversation = await deps.conversations.get(conversationId);
  if (!conversation || conversation.tenantId !== tenantId) {
    throw new NotFoundError('CONVERSATION_NOT_FOUND', 'No such conversation');
  }
  const page = await deps.messages.listByConversation(conversationId, {
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
    ...(query.cursor && { cursor: query.cursor }),
  });
  return defined({ items: page.items.map(toConversationMessageView), nextCursor: page.nextCursor });
};

const DAY_MS = 86_400_000;
const dayNumber = (date: string) => Date.parse(`${date}T00:00:00.000Z`) / DAY_MS;

/**
 * The tenant's usage per UTC day from `from` to `to` inclusive, every day listed (zeros where
 * nothing happened). 400 when `from` is after `to` or the range is longer than 366 days.
 */
export const getUsage = async (
  deps: Pick<ReadDeps, 'usage'>,
  tenantId: string,
  query: { from: string; to: string },
): Promise<{ days: UsageDayRecord[] }> => {
  const first = dayNumber(query.from);
  const last = dayNumber(query.to);
  if (first > last) throw new ValidationError([{ path: 'query.from', message: 'must not be after to' }]);
  if (last - first + 1 > MAX_USAGE_DAYS) {
    throw new ValidationError([
      { path: 'query.to', message: `must be at most ${MAX_USAGE_DAYS} days after from` },
    ]);
  }
  const stored = new Map((await deps.usage.listDays(tenantId, query.from, query.to)).map((d) => [d.date, d]));
  const days: UsageDayRecord[] = [];
  for (let day = first; day <= last; day++) {
    const date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    days.push(
      stored.get(date) ?? { date, messagesIn: 0, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
    );
  }
  return { days };
};
