import * as z from '../zod.ts';
import {
  ChatbotId,
  IsoDate,
  MessageStatusSchema,
  MessageText,
  PhoneNumber,
  SessionStatusSchema,
  Timestamp,
  Uuid,
  WhatsAppAddress,
} from './common.ts';
import { SendMediaBody } from './media.ts';

// Request bodies are strict: an unknown field is a mistake worth reporting, not ignoring.

export const InitSessionBody = z.strictObject({
  chatbotId: ChatbotId,
  pairingPhoneNumber: z.optional(PhoneNumber),
});
/** A text or a file (`media`, see contracts/media.ts); with both, `message` is the caption unless `media.caption` is given. */
export const SendMessageBody = z
  .strictObject({
    sessionId: Uuid,
    to: WhatsAppAddress,
    message: z.optional(MessageText),
    media: z.optional(SendMediaBody),
  })
  .check(
    z.refine((b) => b.message !== undefined || b.media !== undefined, {
      message: 'message is required without media',
      path: ['message'],
    }),
  );
export const DisconnectBody = z.strictObject({ sessionId: Uuid, logout: z.optional(z.boolean()) });
export const UpsertChatbotBody = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  aiEnabled: z.optional(z.boolean()),
  systemPrompt: z.optional(z.string().check(z.maxLength(8000))),
  model: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  /** AI replies mark the message read and show "typing…" first (on unless set false). */
  conversationManners: z.optional(z.boolean()),
});

export const SessionIdParams = z.object({ sessionId: Uuid });
export const MessageIdParams = z.object({ messageId: Uuid });
export const ChatbotIdParams = z.object({ chatbotId: ChatbotId });
export const ConversationIdParams = z.object({
  conversationId: z.string().check(z.minLength(1), z.maxLength(300)),
});
export const QrCodeQuery = z.object({ format: z.optional(z.enum(['json', 'png', 'svg'])) });
export const IdempotencyKeyHeader = z.string().check(z.minLength(1), z.maxLength(255));
/**
 * `?cursor=`: opaque; its length and content are checked where it is decoded, so that every bad
 * cursor is one error, 400 INVALID_CURSOR.
 */
export const Cursor = z.string();
export const ConversationsQuery = z.object({ sessionId: Uuid, cursor: z.optional(Cursor) });
export const CursorQuery = z.object({ cursor: z.optional(Cursor) });
export const UsageQuery = z.object({ from: IsoDate, to: IsoDate });

export const SessionView = z.object({
  sessionId: Uuid,
  chatbotId: ChatbotId,
  status: SessionStatusSchema,
  pairingCode: z.optional(z.string()),
  phoneNumber: z.optional(z.string()),
  lastError: z.optional(z.string()),
  connectedAt: z.optional(Timestamp),
  runnerSeenAt: z.optional(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const InitSessionResponse = z.pick(SessionView, {
  sessionId: true,
  chatbotId: true,
  status: true,
  pairingCode: true,
  createdAt: true,
  updatedAt: true,
});
export const StatusResponse = z.omit(SessionView, { pairingCode: true, createdAt: true });
export const QrCodeResponse = z.object({
  sessionId: Uuid,
  status: SessionStatusSchema,
  qr: z.string(),
  qrCode: z.string().check(z.startsWith('data:image/png;base64,')),
  expiresAt: Timestamp,
});
export const SendMessageResponse = z.object({ messageId: Uuid, status: z.literal('QUEUED') });
export const MessageView = z.object({
  messageId: Uuid,
  sessionId: Uuid,
  to: z.string(),
  status: MessageStatusSchema,
  waMessageId: z.optional(z.string()),
  error: z.optional(z.string()),
  updatedAt: Timestamp,
});
/** `status` is the current one: the runner closes the socket afterwards (a `session.status` event follows). */
export const DisconnectResponse = z.object({
  sessionId: Uuid,
  status: SessionStatusSchema,
  desiredState: z.literal('STOPPED'),
});
export const ChatbotView = z.object({
  chatbotId: ChatbotId,
  name: z.string(),
  aiEnabled: z.boolean(),
  systemPrompt: z.string(),
  model: z.optional(z.string()),
  conversationManners: z.boolean(),
  sessionId: z.optional(Uuid),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const SessionWithChatbotResponse = z.extend(SessionView, { chatbot: ChatbotView });
export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  }),
});
export const UsageDay = z.object({
  date: IsoDate,
  messagesIn: z.number().check(z.int()),
  messagesOut: z.number().check(z.int()),
  aiInputTokens: z.number().check(z.int()),
  aiOutputTokens: z.number().check(z.int()),
});
export const UsageResponse = z.object({ days: z.array(UsageDay) });

export type InitSessionInput = z.infer<typeof InitSessionBody>;
export type SendMessageInput = z.infer<typeof SendMessageBody>;
export type DisconnectInput = z.infer<typeof DisconnectBody>;
export type UpsertChatbotInput = z.infer<typeof UpsertChatbotBody>;
export type SessionViewT = z.infer<typeof SessionView>;
export type ChatbotViewT = z.infer<typeof ChatbotView>;
export type MessageViewT = z.infer<typeof MessageView>;
