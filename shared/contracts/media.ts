import * as z from 'zod';
import { Uuid } from './common.ts';

/** A message's file (see `shared/domain/media.ts`). */
export const MessageMediaSchema = z.object({
  mediaId: Uuid,
  mimeType: z.string().min(1).max(255),
  fileName: z.string().min(1).max(1024).optional(),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^([0-9a-f]{64})?$/, 'must be a hex SHA-256'),
  caption: z.string().min(1).max(65_536).optional(),
  /** Set when the file could not be fetched; the message is kept without it. */
  error: z.string().min(1).max(64).optional(),
});

/** `GET /whatsapp-qr/media/{mediaId}`. */
export const MediaIdParams = z.object({ mediaId: Uuid });
export const MediaLinkQuery = z.object({ format: z.enum(['json']).optional() });
/** The 302 of `GET /media/{mediaId}` has no body: the link is in `Location`. */
export const MediaRedirect = z.undefined();
export const MediaLinkResponse = z.object({
  url: z.url(),
  mimeType: z.string(),
  fileName: z.string().optional(),
  size: z.number().int().min(0),
  sha256: z.string(),
});
