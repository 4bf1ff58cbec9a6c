import * as z from '../zod.ts';
import { ChatbotId, type MessageStatusSchema, SessionStatusSchema, Timestamp } from './common.ts';

/** Media of a message as tenants see it (`sha256` of the plain bytes). */
export const WebhookMedia = z.object({
  mediaId: z.string().check(z.minLength(1)),
  mimeType: z.string().check(z.minLength(1)),
  fileName: z.optional(z.string()),
  size: z.number().check(z.int(), z.gte(0)),
  sha256: z.string().check(z.minLength(1)),
  caption: z.optional(z.string()),
});

const SessionStatusData = z
  .object({
    sessionId: z.string().check(z.minLength(1)),
    chatbotId: ChatbotId,
    status: SessionStatusSchema,
    previousStatus: z.optional(SessionStatusSchema),
    phoneNumber: z.optional(z.string()),
    lastError: z.optional(z.string()),
    /** The raw QR string, only with QR_READY (a tenant's page renders it without polling). */
    qr: z.optional(z.string()),
  })
  .check(
    z.refine((d) => d.qr === undefined || d.status === 'QR_READY', {
      message: 'qr is only sent with QR_READY',
      path: ['qr'],
    }),
  );

const MessageReceivedData = z.object({
  sessionId: z.string().check(z.minLength(1)),
  chatbotId: ChatbotId,
  conversationId: z.string().check(z.minLength(1)),
  messageId: z.string().check(z.minLength(1)),
  waMessageId: z.string().check(z.minLength(1)),
  from: z.string().check(z.minLength(1)),
  pushName: z.optional(z.string()),
  text: z.optional(z.string()),
  media: z.optional(WebhookMedia),
  timestamp: Timestamp,
});

/** The message statuses a tenant is told about (QUEUED is the answer of the send itself). */
export const NOTIFIED_MESSAGE_STATUSES = ['SENT', 'DELIVERED', 'READ', 'FAILED'] as const;

const MessageStatusData = z.object({
  sessionId: z.string().check(z.minLength(1)),
  messageId: z.string().check(z.minLength(1)),
  waMessageId: z.optional(z.string()),
  status: z.enum(NOTIFIED_MESSAGE_STATUSES satisfies readonly z.infer<typeof MessageStatusSchema>[]),
  error: z.optional(z.string()),
});

const WebhookTestData = z.object({ webhookId: z.string().check(z.minLength(1)) });

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
  eventId: z.string().check(z.minLength(1), z.maxLength(128)),
  webhookId: z.string().check(z.minLength(1)),
  tenantId: z.string().check(z.minLength(1)),
  sessionId: z.string().check(z.minLength(1)),
  /** When the job was enqueued (ISO): bounds the total retry time below the queue's retention. */
  enqueuedAt: Timestamp,
  envelope: WebhookEnvelope,
});
export type WebhookDeliveryJob = z.infer<typeof WebhookDeliveryJob>;
