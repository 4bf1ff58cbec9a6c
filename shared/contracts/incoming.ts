import * as z from '../zod.ts';
import { ChatbotId, Uuid } from './common.ts';
import { MessageMediaSchema } from './media.ts';

/** What the runner publishes to `incoming.fifo` for every received text (group = session + chat). */
export const MessageReceived = z.object({
  v: z.literal(1),
  type: z.literal('message.received'),
  tenantId: z.string().check(z.minLength(1)),
  chatbotId: ChatbotId,
  sessionId: Uuid,
  waMessageId: z.string().check(z.minLength(1), z.maxLength(128)),
  from: z.string().check(z.minLength(1)),
  chat: z.string().check(z.minLength(1)),
  pushName: z.optional(z.string()),
  /** The text, or for a file a note of it for the AI (`[image: caption]`, `[voice note]`). */
  text: z.string().check(z.minLength(1), z.maxLength(65536)),
  /** The file an incoming image, voice note, video or document carries (stored by the runner). */
  media: z.optional(MessageMediaSchema),
  timestamp: z.iso.datetime({ offset: true }),
});
export type MessageReceived = z.infer<typeof MessageReceived>;
