import * as z from 'zod';
import { MAX_WEBHOOK_URL_LENGTH } from '../domain/webhook-url-policy.ts';
import { DELIVERY_STATES } from '../ports/webhook-store.ts';
import { ChatbotId, Timestamp } from './common.ts';
import { CursorQuery } from './http.ts';
import { PageLimit } from './read-api.ts';
import { WEBHOOK_EVENT_TYPES } from './webhook-events.ts';

// The tenant API's webhook routes, ready for the route table: POST/GET /webhooks,
// DELETE /webhooks/{webhookId}, POST /webhooks/{webhookId}/test, GET /webhooks/{webhookId}/deliveries.
// Event types are checked by the use case (400 UNKNOWN_EVENT_TYPE listing the valid ones) and the
// URL by the URL policy (400 INVALID_WEBHOOK_URL with the reason), so the schemas stay loose there.

export const WebhookId = z.string().regex(/^wh_[A-Za-z0-9_-]{1,64}$/, 'must be a webhook id (wh_…)');

export const CreateWebhookBody = z.object({
  url: z.string().min(1).max(MAX_WEBHOOK_URL_LENGTH),
  /** Event types to receive; all but `webhook.test` when absent. */
  events: z.array(z.string().min(1).max(64)).min(1).max(WEBHOOK_EVENT_TYPES.length).optional(),
  /** Only events of this chatbot. */
  chatbotId: ChatbotId.optional(),
  description: z.string().max(256).optional(),
});

export const WebhookView = z.object({
  webhookId: WebhookId,
  tenantId: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]])),
  chatbotId: ChatbotId.optional(),
  description: z.string().optional(),
  createdAt: Timestamp,
});

/** The answer of create: the only time the secret is shown. */
export const CreatedWebhook = WebhookView.extend({ secret: z.string().startsWith('whsec_') });
export const WebhookListResponse = z.object({ items: z.array(WebhookView) });
export const WebhookPathParams = z.object({ webhookId: WebhookId });
export const WebhookTestResponse = z.object({ eventId: z.string() });

export const DeliveryView = z.object({
  webhookId: WebhookId,
  eventId: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]]),
  attempts: z.number().int().nonnegative(),
  state: z.enum(DELIVERY_STATES),
  lastStatus: z.number().int().optional(),
  lastError: z.string().optional(),
  createdAt: Timestamp,
  firstAttemptAt: Timestamp.optional(),
  updatedAt: Timestamp,
});
export const DeliveryListResponse = z.object({
  items: z.array(DeliveryView),
  nextCursor: z.string().optional(),
});
export const DeliveriesPageQuery = CursorQuery.extend({ limit: PageLimit });
