/**
 * A file a message carries, as the tenant sees it (`message.received`, the conversation's
 * messages, `GET /media/{id}`): sha256 is of the plain bytes, hex. `error` is set when the file
 * could not be fetched from WhatsApp (the message is kept, its file is not available).
 */
export interface MessageMedia {
  /** The stored file (`GET /media/{id}`); absent for an outbound file sent by URL, which is not kept. */
  mediaId?: string;
  mimeType: string;
  fileName?: string;
  size: number;
  sha256: string;
  caption?: string;
  error?: string;
  /** An outbound file sent by URL: where the runner fetches it (no copy is kept: no `mediaId`). */
  url?: string;
}

/** Where a tenant's file lives in the bucket: under the tenant, so no id reaches another's files. */
export const mediaKeyOf = (tenantId: string, mediaId: string): string => `media/${tenantId}/${mediaId}`;

/** The prefix the retention rule expires (`MEDIA_RETENTION_DAYS`). */
export const MEDIA_PREFIX = 'media/';
