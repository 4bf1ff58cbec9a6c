import * as z from 'zod';
import { ChatbotId, Uuid } from './common.ts';
import { MessageMediaSchema } from './media.ts';

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
  /** The text, or for a file a note of it for the AI (`[image: caption]`, `[voice note]`). */
  text: z.string().min(1).max(65536),
  /** The file an incoming image, voice note, video or document carries (stored by the runner). */
  media: MessageMediaSchema.optional(),
  timestamp: z.iso.datetime({ offset: true }),
});
export type MessageReceived = z.infer<typeof MessageReceived>;
