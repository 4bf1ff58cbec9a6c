import * as z from '../zod.ts';
import { MessageStatusSchema, Timestamp, Uuid } from './common.ts';
import { ConversationsQuery, CursorQuery } from './http.ts';
import { MessageMediaSchema } from './media.ts';

export const ConversationView = z.object({
  conversationId: z.string(),
  sessionId: Uuid,
  peer: z.string(),
  peerName: z.optional(z.string()),
  lastMessageAt: Timestamp,
  lastMessageText: z.optional(z.string()),
  messageCount: z.number().check(z.int()),
  unreadCount: z.number().check(z.int()),
});

export const ConversationMessageView = z.object({
  messageId: Uuid,
  direction: z.enum(['in', 'out']),
  from: z.optional(z.string()),
  to: z.string(),
  text: z.string(),
  media: z.optional(MessageMediaSchema),
  status: MessageStatusSchema,
  waMessageId: z.optional(z.string()),
  /** Why a FAILED send failed (`MEDIA_TOO_LARGE`, …), as on `GET /messages/{messageId}`. */
  error: z.optional(z.string()),
  createdAt: Timestamp,
});

export const ConversationListResponse = z.object({
  items: z.array(ConversationView),
  nextCursor: z.optional(z.string()),
});
export const ConversationMessagesResponse = z.object({
  items: z.array(ConversationMessageView),
  nextCursor: z.optional(z.string()),
});

/** `?limit=` of a listing: 1-100, 50 when absent. */
export const PageLimit = z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)));
export const ConversationsPageQuery = z.extend(ConversationsQuery, { limit: PageLimit });
export const MessagesPageQuery = z.extend(CursorQuery, { limit: PageLimit });
