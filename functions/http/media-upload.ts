import { systemClock } from '#shared/ports/clock.ts';
import { createMediaUpload } from '#shared/use-cases/media.ts';
import { httpRoute } from './http-route.ts';
import { mediaStoreOf } from './media-deps.ts';
import { ROUTE } from './routes.ts';

/** POST /whatsapp-qr/media — 201 with a presigned PUT for a file to send; 400 for a type or size WhatsApp refuses. */
export const handler = httpRoute(ROUTE.CreateMediaUpload, async ({ tenantId, body }) => ({
  status: 201,
  json: await createMediaUpload(
    { media: mediaStoreOf(ROUTE.CreateMediaUpload), clock: systemClock },
    tenantId,
    body,
  ),
}));
