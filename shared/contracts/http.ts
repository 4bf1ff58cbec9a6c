import * as z from 'zod';
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
  pairingPhoneNumber: PhoneNumber.optional(),
});
/** A text or a file (`media`, see contracts/media.ts); with both, `message` is the caption unless `media.caption` is given. */
export const SendMessageBody = z
  .strictObject({
    sessionId: Uuid,
    to: WhatsAppAddress,
    message: MessageText.optional(),
    media: SendMediaBody.optional(),
  })
  .refine((b) => b.message !== undefined || b.media !== undefined, {
    message: 'message is required without media',
    path: ['message'],
  });
export const DisconnectBody = z.strictObject({ sessionId: Uuid, logout: z.boolean().optional() });
export const UpsertChatbotBody = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  aiEnabled: z.boolean().optional(),
  systemPrompt: z.string().max(8000).optional(),
  model: z.string().min(1).max(256).optional(),
  /** AI replies mark the message read and show "typing…" first (on unless set false). */
  conversationManners: z.boolean().optional(),
});

export const SessionIdParams = z.object({ sessionId: Uuid });
export const MessageIdParams = z.object({ messageId: Uuid });
export const ChatbotIdParams = z.object({ chatbotId: ChatbotId });
export const ConversationIdParams = z.object({ conversationId: z.string().min(1).max(300) });
export const QrCodeQuery = z.object({ format: z.enum(['json', 'png', 'svg']).optional() });
export const IdempotencyKeyHeader = z.string().min(1).max(255);
/**
 * `?cursor=`: opaque; its length and content are checked where it is decoded, so that every bad
 * cursor is one error, 400 INVALID_CURSOR.
 */
export const Cursor = z.string();
export const ConversationsQuery = z.object({ sessionId: Uuid, cursor: Cursor.optional() });
export const CursorQuery = z.object({ cursor: Cursor.optional() });
export const UsageQuery = z.object({ from: IsoDate, to: IsoDate });

export const SessionView = z.object({
  sessionId: Uuid,
  chatbotId: ChatbotId,
  status: SessionStatusSchema,
  pairingCode: z.string().optional(),
  phoneNumber: z.string().optional(),
  lastError: z.string().optional(),
  connectedAt: Timestamp.optional(),
  runnerSeenAt: Timestamp.optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const InitSessionResponse = SessionView.pick({
  sessionId: true,
  chatbotId: true,
  status: true,
  pairingCode: true,
  createdAt: true,
  updatedAt: true,
});
export const StatusResponse = SessionView.omit({ pairingCode: true, createdAt: true });
export const QrCodeResponse = z.object({
  sessionId: Uuid,
  status: SessionStatusSchema,
  qr: z.string(),
  qrCode: z.string().startsWith('data:image/png;base64,'),
  expiresAt: Timestamp,
});
export const SendMessageResponse = z.object({ messageId: Uuid, status: z.literal('QUEUED') });
export const MessageView = z.object({
  messageId: Uuid,
  sessionId: Uuid,
  to: z.string(),
  status: MessageStatusSchema,
  waMessageId: z.string().optional(),
  error: z.string().optional(),
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
  model: z.string().optional(),
  conversationManners: z.boolean(),
  sessionId: Uuid.optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const SessionWithChatbotResponse = SessionView.extend({ chatbot: ChatbotView });
export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export const UsageDay = z.object({
  date: IsoDate,
  messagesIn: z.number().int(),
  messagesOut: z.number().int(),
  aiInputTokens: z.number().int(),
  aiOutputTokens: z.number().int(),
});
export const UsageResponse = z.object({ days: z.array(UsageDay) });

export type InitSessionInput = z.infer<typeof InitSessionBody>;
export type SendMessageInput = z.infer<typeof SendMessageBody>;
export type DisconnectInput = z.infer<typeof DisconnectBody>;
export type UpsertChatbotInput = z.infer<typeof UpsertChatbotBody>;
export type SessionViewT = z.infer<typeof SessionView>;
export type ChatbotViewT = z.infer<typeof ChatbotView>;
export type MessageViewT = z.infer<typeof MessageView>;
