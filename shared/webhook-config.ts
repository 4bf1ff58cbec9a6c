import { EndpointEnv } from './config.ts';
import { BASE_RETRY_SECONDS, DEFAULT_SETTLE_MS } from './use-cases/webhook-delivery.ts';
import * as z from './zod.ts';

// Env keys of the webhook Lambdas, shared by infra/ (which sets exactly these) and the runtimes.

const name = z.string().check(z.minLength(1));
const queueUrl = z.string().check(z.regex(/^https?:\/\/\S+$/, 'must be an http(s) queue URL'));
/** Local stack only: also call webhooks on loopback, over http:// too. Never set in AWS. */
const allowLoopback = z.pipe(
  z._default(z.enum(['true', 'false']), 'false'),
  z.transform((v) => v === 'true'),
);

/** The fan-out Lambda on the sessions and messages table streams. */
export const WebhookFanoutEnv = z.extend(EndpointEnv, {
  SESSIONS_TABLE: name,
  WEBHOOKS_TABLE: name,
  WEBHOOK_DELIVERY_QUEUE_URL: queueUrl,
});

/** The delivery Lambda on `webhook-deliveries.fifo`. */
export const WebhookDeliveryEnv = z.extend(EndpointEnv, {
  WEBHOOKS_TABLE: name,
  WEBHOOK_DELIVERY_QUEUE_URL: queueUrl,
  WEBHOOK_DELIVERY_DLQ_URL: queueUrl,
  WEBHOOK_ALLOW_LOOPBACK: allowLoopback,
  /** The first retry delay of a failed delivery, doubled on each attempt (tests shorten it). */
  WEBHOOK_FIRST_RETRY_SECONDS: z._default(z.coerce.number().check(z.int(), z.gt(0)), BASE_RETRY_SECONDS),
  /**
   * How long after it happened an event is held, so that an older event of its session that the
   * streams hand over later is still delivered before it (docs/architecture.md, "Order").
   */
  WEBHOOK_SETTLE_MS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(60_000)), DEFAULT_SETTLE_MS),
});

export type WebhookFanoutConfig = z.infer<typeof WebhookFanoutEnv>;
export type WebhookDeliveryConfig = z.infer<typeof WebhookDeliveryEnv>;
