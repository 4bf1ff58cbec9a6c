import * as z from 'zod';
import { ChatbotId, MessageStatusSchema, SessionStatusSchema, Timestamp } from './common.ts';

/** Media of a message as tenants see it (`sha256` of the plain bytes). */
export const WebhookMedia = z.object({
  mediaId: z.string().min(1),
  mimeType: z.string().min(1),
  fileName: z.string().optional(),
  size: z.number().int().nonnegative(),
  sha256: z.string().min(1),
  caption: z.string().optional(),
});

const SessionStatusData = z
  .object({
    sessionId: z.string().min(1),
    chatbotId: ChatbotId,
    status: SessionStatusSchema,
    previousStatus: SessionStatusSchema.optional(),
    phoneNumber: z.string().optional(),
    lastError: z.string().optional(),
    /** The raw QR string, only with QR_READY (a tenant's page renders it without polling). */
    qr: z.string().optional(),
  })
  .refine((d) => d.qr === undefined || d.status === 'QR_READY', {
    message: 'qr is only sent with QR_READY',
    path: ['qr'],
  });

const MessageReceivedData = z.object({
  sessionId: z.string().min(1),
  chatbotId: ChatbotId,
  conversationId: z.string().min(1),
  messageId: z.string().min(1),
  waMessageId: z.string().min(1),
  from: z.string().min(1),
  pushName: z.string().optional(),
  text: z.string().optional(),
  media: WebhookMedia.optional(),
  timestamp: Timestamp,
});

/** The message statuses a tenant is told about (QUEUED is the answer of the send itself). */
export const NOTIFIED_MESSAGE_STATUSES = ['SENT', 'DELIVERED', 'READ', 'FAILED'] as const;

const MessageStatusData = z.object({
  sessionId: z.string().min(1),
  messageId: z.string().min(1),
  waMessageId: z.string().optional(),
  status: MessageStatusSchema.extract(NOTIFIED_MESSAGE_STATUSES),
  error: z.string().optional(),
});

const WebhookTestData = z.object({ webhookId: z.string().min(1) });

/**
 * Every event type a tenant can subscribe to, with the schema of its `data`: the one table that
 * the producers, the subscription check, the delivery and the OpenAPI document read.
 */
export const WEBHOOK_EVENTS = {
  'session.status': SessionStatusData,
  'message.received': MessageReceivedData,
  'message.status': MessageStatusData,
  'webhook.test': WebhookTestData,
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENTS;
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as WebhookEventType[];
export type WebhookEventData<T extends WebhookEventType> = z.infer<(typeof WEBHOOK_EVENTS)[T]>;

export const isWebhookEventType = (value: string): value is WebhookEventType =>
  Object.hasOwn(WEBHOOK_EVENTS, value);

/** The body a receiver gets: `{ type, timestamp, data }`, one schema per type (for OpenAPI). */
export const webhookEnvelopeSchema = <T extends WebhookEventType>(type: T) =>
  z.object({ type: z.literal(type), timestamp: Timestamp, data: WEBHOOK_EVENTS[type] });

/** Any event body, discriminated by `type`. */
export const WebhookEnvelope = z.discriminatedUnion('type', [
  webhookEnvelopeSchema('session.status'),
  webhookEnvelopeSchema('message.received'),
  webhookEnvelopeSchema('message.status'),
  webhookEnvelopeSchema('webhook.test'),
]);
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>;

/**
 * An event of one tenant before fan-out. `eventId` is stable (derived from the stored change),
 * so a redelivered stream batch produces the same id and receivers dedupe on `webhook-id`.
 */
export interface TenantEvent {
  eventId: string;
  tenantId: string;
  /** For the endpoints' chatbot filter; absent when the producer could not tell. */
  chatbotId?: string;
  /** The order key: events of one session leave in order. */
  sessionId: string;
  envelope: WebhookEnvelope;
}

/** A delivery job on `webhook-deliveries.fifo`: one event for one endpoint. No secret travels here. */
export const WebhookDeliveryJob = z.object({
  v: z.literal(1),
  eventId: z.string().min(1).max(128),
  webhookId: z.string().min(1),
  tenantId: z.string().min(1),
  sessionId: z.string().min(1),
  /** When the job was enqueued (ISO): bounds the total retry time below the queue's retention. */
  enqueuedAt: Timestamp,
  envelope: WebhookEnvelope,
});
export type WebhookDeliveryJob = z.infer<typeof WebhookDeliveryJob>;
