import * as z from 'zod';
import { ChatbotId, SessionStatusSchema, Uuid } from './common.ts';
import { ChatbotView, Cursor, SessionView } from './http.ts';
import { PageLimit } from './read-api.ts';

// Managing what a tenant has: listing and deleting its sessions and chatbots.

/** `GET /sessions`: `status` is the status the tenant sees (after the runner-liveness check). */
export const SessionsQuery = z.object({
  status: SessionStatusSchema.optional(),
  chatbotId: ChatbotId.optional(),
  cursor: Cursor.optional(),
  limit: PageLimit,
});
export const SessionListResponse = z.object({
  items: z.array(SessionView),
  nextCursor: z.string().optional(),
});

/** `?purge=true` also deletes the session's conversations and messages. */
export const DeleteSessionQuery = z.object({
  purge: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true'),
});
export const DeleteSessionResponse = z.object({ sessionId: Uuid, status: z.literal('DELETING') });

export const ChatbotsQuery = z.object({ cursor: Cursor.optional(), limit: PageLimit });
export const ChatbotListResponse = z.object({
  items: z.array(ChatbotView),
  nextCursor: z.string().optional(),
});

/** A success without a body (204). */
export const NoContent = z.undefined();

export type SessionsQueryInput = z.infer<typeof SessionsQuery>;
