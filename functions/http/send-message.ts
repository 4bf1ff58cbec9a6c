import { sendMessage } from '#shared/use-cases/messages.ts';
import { httpRoute } from './http-route.ts';
import { mediaStoreOf, mediaUrlAllowLoopbackOf } from './media-deps.ts';
import { SendMessageRoute } from './routes.ts';

/** POST /whatsapp-qr/send — 202 once the message is queued; `Idempotency-Key` makes retries safe. */
export const handler = httpRoute(SendMessageRoute, async ({ deps, tenantId, body, headers }) => ({
  status: 202,
  json: await sendMessage(
    {
      ...deps,
      // Built only for a send with a file: a text send touches no S3 client.
      ...(body.media && {
        media: mediaStoreOf(SendMessageRoute),
        mediaUrlAllowLoopback: mediaUrlAllowLoopbackOf(SendMessageRoute),
      }),
    },
    tenantId,
    body,
    headers['idempotency-key'],
  ),
}));
