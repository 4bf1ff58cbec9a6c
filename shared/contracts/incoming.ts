import * as z from 'zod';
import { ChatbotId, Uuid } from './common.ts';

/** What the runner publishes to `incoming.fifo` for every received text (group = session + chat). */
export const MessageReceived = z.object({
  v: z.literal(1),
  type: z.literal('message.received'),
  tenantId: z.string().min(1),
  chatbotId: ChatbotId,
  sessionId: Uuid,
  waMessageId: z.string().min(1).max(128),
  from: z.string().min(1),
  chat: z.string().min(1),
  pushName: z.string().optional(),
  text: z.string().min(1).max(65536),
  timestamp: z.iso.datetime({ offset: true }),
});
export type MessageReceived = z.infer<typeof MessageReceived>;
