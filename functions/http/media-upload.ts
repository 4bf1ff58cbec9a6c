import { systemClock } from '#shared/ports/clock.ts';
import { createMediaUpload } from '#shared/use-cases/media.ts';
import { httpRoute } from './http-route.ts';
import { mediaStoreOf } from './media-deps.ts';
import { CreateMediaUploadRoute } from './routes.ts';

/** POST /whatsapp-qr/media — 201 with a presigned PUT for a file to send; 400 for a type or size WhatsApp refuses. */
export const handler = httpRoute(CreateMediaUploadRoute, async ({ tenantId, body }) => ({
  status: 201,
  json: await createMediaUpload(
    { media: mediaStoreOf(CreateMediaUploadRoute), clock: systemClock },
    tenantId,
    body,
  ),
}));
