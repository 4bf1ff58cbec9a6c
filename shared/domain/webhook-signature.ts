import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** Bytes of randomness in a new secret (Standard Webhooks asks for 24 to 64). */
const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of random bytes; shown to the tenant once. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(SECRET_BYTES).toString('base64')}`;

/**
 * The Standard Webhooks headers of one delivery: `webhook-id` (the event id, the same on every
 * retry), `webhook-timestamp` (unix seconds of this attempt) and `webhook-signature` (`v1,<base64
 * HMAC-SHA256 of "<id>.<timestamp>.<body>">`), signed by the reference library.
 */
export const signWebhook = (
  secret: string,
  eventId: string,
  at: Date,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> => {
  // The library signs with whole seconds; the header must carry the same second.
  const seconds = Math.floor(at.getTime() / 1000);
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(seconds),
    'webhook-signature': new Webhook(secret).sign(eventId, new Date(seconds * 1000), body),
  };
};
