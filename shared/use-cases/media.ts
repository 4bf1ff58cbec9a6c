import { NotFoundError } from '../errors.ts';
import type { MediaStore } from '../ports/media-store.ts';

/** How long a link to a file works: long enough to start a download, short enough not to be shared. */
export const MEDIA_LINK_SECONDS = 300;

/**
 * A short-lived link to one of the tenant's files and its description (what
 * `GET /whatsapp-qr/media/{mediaId}` answers). Another tenant's id, or an expired file, is 404:
 * files live under the tenant's own prefix, so no lookup can reach another's.
 */
export const getMediaLink = async (deps: { media: MediaStore }, tenantId: string, mediaId: string) => {
  const file = await deps.media.head(tenantId, mediaId);
  if (!file) throw new NotFoundError('MEDIA_NOT_FOUND', 'No such media');
  const url = await deps.media.presignGet(tenantId, mediaId, MEDIA_LINK_SECONDS, file.fileName);
  return { url, ...file };
};
