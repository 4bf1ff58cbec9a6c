import { MAX_WEBHOOK_URL_LENGTH } from '../domain/webhook-url-policy.ts';
import { DELIVERY_STATES } from '../ports/webhook-store.ts';
import * as z from '../zod.ts';
import { ChatbotId, Timestamp } from './common.ts';
import { CursorQuery } from './http.ts';
import { PageLimit } from './read-api.ts';
import { WEBHOOK_EVENT_TYPES } from './webhook-events.ts';

// The tenant API's webhook routes, ready for the route table: POST/GET /webhooks,
// DELETE /webhooks/{webhookId}, POST /webhooks/{webhookId}/test, GET /webhooks/{webhookId}/deliveries.
// Event types are checked by the use case (400 UNKNOWN_EVENT_TYPE listing the valid ones) and the
// URL by the URL policy (400 INVALID_WEBHOOK_URL with the reason), so the schemas stay loose there.

export const WebhookId = z.string().check(z.regex(/^wh_[A-Za-z0-9_-]{1,64}$/, 'must be a webhook id (wh_…)'));

export const CreateWebhookBody = z.object({
  url: z.string().check(z.minLength(1), z.maxLength(MAX_WEBHOOK_URL_LENGTH)),
  /** Event types to receive; all but `webhook.test` when absent. */
  events: z.optional(
    z
      .array(z.string().check(z.minLength(1), z.maxLength(64)))
      .check(z.minLength(1), z.maxLength(WEBHOOK_EVENT_TYPES.length)),
  ),
  /** Only events of this chatbot. */
  chatbotId: z.optional(ChatbotId),
  description: z.optional(z.string().check(z.maxLength(256))),
});

export const WebhookView = z.object({
  webhookId: WebhookId,
  tenantId: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]])),
  chatbotId: z.optional(ChatbotId),
  description: z.optional(z.string()),
  createdAt: Timestamp,
});

/** The answer of create: the only time the secret is shown. */
export const CreatedWebhook = z.extend(WebhookView, { secret: z.string().check(z.startsWith('whsec_')) });
export const WebhookListResponse = z.object({ items: z.array(WebhookView) });
export const WebhookPathParams = z.object({ webhookId: WebhookId });
export const WebhookTestResponse = z.object({ eventId: z.string() });

export const DeliveryView = z.object({
  webhookId: WebhookId,
  eventId: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]]),
  attempts: z.number().check(z.int(), z.gte(0)),
  state: z.enum(DELIVERY_STATES),
  lastStatus: z.optional(z.number().check(z.int())),
  lastError: z.optional(z.string()),
  createdAt: Timestamp,
  firstAttemptAt: z.optional(Timestamp),
  updatedAt: Timestamp,
});
export const DeliveryListResponse = z.object({
  items: z.array(DeliveryView),
  nextCursor: z.optional(z.string()),
});
export const DeliveriesPageQuery = z.extend(CursorQuery, { limit: PageLimit });
