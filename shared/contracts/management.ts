import * as z from '../zod.ts';
import { ChatbotId, SessionStatusSchema, Uuid } from './common.ts';
import { ChatbotView, Cursor, SessionView } from './http.ts';
import { PageLimit } from './read-api.ts';

// Managing what a tenant has: listing and deleting its sessions and chatbots.

/** `GET /sessions`: `status` is the status the tenant sees (after the runner-liveness check). */
export const SessionsQuery = z.object({
  status: z.optional(SessionStatusSchema),
  chatbotId: z.optional(ChatbotId),
  cursor: z.optional(Cursor),
  limit: PageLimit,
});
export const SessionListResponse = z.object({
  items: z.array(SessionView),
  nextCursor: z.optional(z.string()),
});

/** `?purge=true` also deletes the session's conversations and messages. */
export const DeleteSessionQuery = z.object({
  purge: z.pipe(
    z.optional(z.enum(['true', 'false'])),
    z.transform((v) => v === 'true'),
  ),
});
export const DeleteSessionResponse = z.object({ sessionId: Uuid, status: z.literal('DELETING') });

export const ChatbotsQuery = z.object({ cursor: z.optional(Cursor), limit: PageLimit });
export const ChatbotListResponse = z.object({
  items: z.array(ChatbotView),
  nextCursor: z.optional(z.string()),
});

/** A success without a body (204). */
export const NoContent = z.undefined();

export type SessionsQueryInput = z.infer<typeof SessionsQuery>;
