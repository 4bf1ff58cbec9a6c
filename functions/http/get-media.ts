import { getMediaLink } from '#shared/use-cases/media.ts';
import { httpRoute } from './http-route.ts';
import { mediaStoreOf } from './media-deps.ts';
import { GetMediaRoute } from './routes.ts';

/** GET /whatsapp-qr/media/{mediaId} — 302 to a short-lived presigned GET; `?format=json` the link and description. */
export const handler = httpRoute(GetMediaRoute, async (request) => {
  const link = await getMediaLink(
    { media: mediaStoreOf(GetMediaRoute) },
    request.tenantId,
    request.params.mediaId,
  );
  if (request.query.format === 'json') return { status: 200, json: link };
  // The link expires: no cache may keep the redirect longer than that.
  return { status: 302, json: undefined, headers: { location: link.url, 'cache-control': 'no-store' } };
});
