import type { Message } from '../domain/entities.ts';
import type { Page, PageRequest } from './page.ts';
import type { LimitSpec } from './rate-limiter.ts';
import type { UsageDelta } from './usage-store.ts';

/** One chat of a session with one peer (a user or a group), as listed by last activity. */
export interface Conversation {
  conversationId: string;
  tenantId: string;
  sessionId: string;
  /** The chat JID: the peer's, or the group's. */
  peer: string;
  peerName?: string;
  /** When the conversation last had a message stored (processing time). */
  lastMessageAt: string;
  lastMessageText?: string;
  lastDirection?: 'in' | 'out';
  messageCount: number;
  /** Inbound messages since the last outbound one: what still waits for an answer. */
  unreadCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface AppendedMessage {
  /** The message, with its `conversationId` set. */
  message: Message;
  peer: string;
  peerName?: string;
  /** Added to the tenant's usage of the message's UTC day, in the same atomic write. */
  usage: UsageDelta;
  now: string;
  /**
   * A per-tenant limit the message counts against in the same atomic write (the API's sends per
   * minute, in the window `at` falls in): over it, nothing is written and `RateLimitedError` is thrown.
   */
  limit?: Required<LimitSpec> & { at: Date };
}

/** At most this many characters of the last message are kept on the conversation. */
export const LAST_MESSAGE_PREVIEW_CHARS = 200;

export interface ConversationStore {
  get(conversationId: string): Promise<Conversation | undefined>;
  /** The conversations of a session, most recent activity first. */
  listBySession(sessionId: string, page: PageRequest): Promise<Page<Conversation>>;
  /**
   * One atomic write: stores the message unless its id exists, upserts its conversation (last
   * activity, counters) and adds `usage` to the tenant's day. Answers false, having written nothing,
   * when the message existed: a redelivered message is neither stored nor counted twice. With
   * `limit`, a message over it is not stored (`RateLimitedError`).
   */
  appendMessage(entry: AppendedMessage): Promise<boolean>;
}
