import { isIP } from 'node:net';
import type { MediaUploadInput, SendMediaInput } from '../contracts/media.ts';
import { newId } from '../domain/ids.ts';
import type { MessageMedia } from '../domain/media.ts';
import { outgoingMediaProblem } from '../domain/outgoing-media.ts';
import { isLoopbackAddress, nonPublicReason, webhookUrlSyntaxProblem } from '../domain/webhook-url-policy.ts';
import { AppError, NotFoundError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { HashedMedia, MediaStore, StoredMedia } from '../ports/media-store.ts';

/** How long a link to a file works: long enough to start a download, short enough not to be shared. */
export const MEDIA_LINK_SECONDS = 300;

/**
 * A short-lived link to one of the tenant's files and its description (what
 * `GET /whatsapp-qr/media/{mediaId}` answers). Another tenant's id, or an expired file, is 404:
 * files live under the tenant's own prefix, so no lookup can reach another's. A tenant's upload
 * has no sha256 (nor file name) until it is first asked for: then both are completed and kept.
 */
export const getMediaLink = async (
  deps: { media: Pick<MediaStore, 'head' | 'presignGet' | 'completeDescription'> },
  tenantId: string,
  mediaId: string,
) => {
  let file = await deps.media.head(tenantId, mediaId);
  if (file && !file.sha256) file = await completeUploadDescription(deps, tenantId, mediaId);
  if (!file) throw new NotFoundError('MEDIA_NOT_FOUND', 'No such media');
  const url = await deps.media.presignGet(tenantId, mediaId, MEDIA_LINK_SECONDS, file.fileName);
  return { url, ...file };
};

/**
 * Gives a tenant's upload (a presigned PUT: bytes and type only) its sha256 and its reservation's
 * file name, kept with the file so it is done once: by the API on the first `GET /media/{id}`
 * (which reads and hashes the file), or by the runner that sent it (`hashed`: the bytes it read
 * to send, recorded only while the file is still the version it read). Undefined when there is
 * no such file (or no longer that version).
 */
export const completeUploadDescription = (
  deps: { media: Pick<MediaStore, 'completeDescription'> },
  tenantId: string,
  mediaId: string,
  hashed?: HashedMedia,
): Promise<StoredMedia | undefined> => deps.media.completeDescription(tenantId, mediaId, hashed);

/** How long an upload link works: time enough for a large file on a slow line. */
export const MEDIA_UPLOAD_SECONDS = 900;

/** A file that cannot be sent as asked: 400 with a stable code and the reason. */
export class MediaRejectedError extends AppError {
  constructor(code: string, reason: string) {
    super('invalid', code, reason);
  }
}

/**
 * Reserves a new file id for the tenant and gives a presigned PUT for it, its type and exact size
 * bound into the signature. A type WhatsApp does not take, or a size over its limit, is 400 before
 * anything is stored.
 */
export const createMediaUpload = async (
  deps: { media: Pick<MediaStore, 'reserve' | 'presignPut'>; clock: Clock },
  tenantId: string,
  input: MediaUploadInput,
) => {
  const problem = outgoingMediaProblem(input.mimeType, input.size);
  if (problem) throw new MediaRejectedError(problem.code, problem.reason);
  const mediaId = newId();
  const upload = {
    mimeType: input.mimeType,
    size: input.size,
    ...(input.fileName && { fileName: input.fileName }),
  };
  await deps.media.reserve(tenantId, mediaId, upload);
  const uploadUrl = await deps.media.presignPut(tenantId, mediaId, upload, MEDIA_UPLOAD_SECONDS);
  const expiresAt = new Date(deps.clock.now().getTime() + MEDIA_UPLOAD_SECONDS * 1000).toISOString();
  return { mediaId, uploadUrl, expiresAt };
};

/** What a send with media needs: the tenant's files (by `mediaId`), and whether URLs may be loopback. */
export interface SendMediaDeps {
  media?: Pick<MediaStore, 'head' | 'reservation'>;
  /** The local stack only (WEBHOOK_ALLOW_LOOPBACK): tenant URLs may point to this machine. */
  mediaUrlAllowLoopback?: boolean;
}

/**
 * The file a send carries, as stored on the message (the runner sends what is stored).
 * By `mediaId`: 404 MEDIA_NOT_FOUND unless the tenant reserved it (another tenant's id included),
 * 400 MEDIA_NOT_UPLOADED until its bytes are there. By `url`: https (http and loopback only where
 * `allowLoopback`, the local stack), an IP literal must be public; the runner resolves the name
 * and checks every address again when it fetches. The declared type and size cap apply to both.
 */
export const resolveSendMedia = async (
  deps: SendMediaDeps,
  tenantId: string,
  input: SendMediaInput,
  caption: string | undefined,
): Promise<MessageMedia> => {
  const withCaption = caption ? { caption } : {};
  if (input.url !== undefined) {
    const mimeType = input.mimeType as string; // the body schema requires it with url
    const problem = outgoingMediaProblem(mimeType, 0);
    if (problem) throw new MediaRejectedError(problem.code, problem.reason);
    const urlProblem = mediaUrlProblem(input.url, deps.mediaUrlAllowLoopback === true);
    if (urlProblem) throw new MediaRejectedError(urlProblem.code, urlProblem.reason);
    // No copy is kept (a PUT and storage for every URL send): the message has no mediaId to fetch;
    // its size and sha256 are recorded once the runner sent it.
    return {
      url: input.url,
      mimeType,
      ...(input.fileName && { fileName: input.fileName }),
      size: 0,
      sha256: '',
      ...withCaption,
    };
  }
  const mediaId = input.mediaId as string;
  if (!deps.media) throw new Error('this route has no media store');
  const reservation = await deps.media.reservation(tenantId, mediaId);
  if (!reservation) throw new NotFoundError('MEDIA_NOT_FOUND', 'No such media');
  const stored = await deps.media.head(tenantId, mediaId);
  if (!stored) {
    throw new MediaRejectedError(
      'MEDIA_NOT_UPLOADED',
      'The file of this mediaId was not uploaded (PUT it to its uploadUrl first)',
    );
  }
  const fileName = input.fileName ?? reservation.fileName;
  return {
    mediaId,
    mimeType: stored.mimeType,
    ...(fileName && { fileName }),
    size: stored.size,
    sha256: stored.sha256,
    ...withCaption,
  };
};

/** Why a media URL is refused on its face (scheme, credentials, a private IP literal), or undefined. */
export const mediaUrlProblem = (
  raw: string,
  allowLoopback: boolean,
): { code: 'MEDIA_URL_INVALID' | 'MEDIA_URL_NOT_PUBLIC'; reason: string } | undefined => {
  const syntax = webhookUrlSyntaxProblem(raw, { allowLoopback });
  if (syntax) return { code: 'MEDIA_URL_INVALID', reason: `url ${syntax}` };
  const url = new URL(raw);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || (isIP(host) !== 0 && isLoopbackAddress(host));
  if (url.protocol === 'http:' && !loopback) {
    return { code: 'MEDIA_URL_INVALID', reason: 'url must be https:// (http:// only to loopback)' };
  }
  if (allowLoopback && loopback) return undefined;
  const reason = host === 'localhost' ? 'a loopback address' : isIP(host) ? nonPublicReason(host) : undefined;
  if (reason) {
    return {
      code: 'MEDIA_URL_NOT_PUBLIC',
      reason: `url host ${host} is ${reason}; only public addresses are allowed`,
    };
  }
  return undefined;
};
