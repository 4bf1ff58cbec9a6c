import * as z from 'zod';
import { MessageStatusSchema, Timestamp, Uuid } from './common.ts';
import { ConversationsQuery, CursorQuery } from './http.ts';
import { MessageMediaSchema } from './media.ts';

export const ConversationView = z.object({
  conversationId: z.string(),
  sessionId: Uuid,
  peer: z.string(),
  peerName: z.string().optional(),
  lastMessageAt: Timestamp,
  lastMessageText: z.string().optional(),
  messageCount: z.number().int(),
  unreadCount: z.number().int(),
});

export const ConversationMessageView = z.object({
  messageId: Uuid,
  direction: z.enum(['in', 'out']),
  from: z.string().optional(),
  to: z.string(),
  text: z.string(),
  media: MessageMediaSchema.optional(),
  status: MessageStatusSchema,
  waMessageId: z.string().optional(),
  createdAt: Timestamp,
});

export const ConversationListResponse = z.object({
  items: z.array(ConversationView),
  nextCursor: z.string().optional(),
});
export const ConversationMessagesResponse = z.object({
  items: z.array(ConversationMessageView),
  nextCursor: z.string().optional(),
});

/** `?limit=` of a listing: 1-100, 50 when absent. */
export const PageLimit = z.coerce.number().int().min(1).max(100).optional();
export const ConversationsPageQuery = ConversationsQuery.extend({ limit: PageLimit });
export const MessagesPageQuery = CursorQuery.extend({ limit: PageLimit });
