import * as z from 'zod';
import { Uuid } from './common.ts';

/** A message's file (see `shared/domain/media.ts`). */
export const MessageMediaSchema = z.object({
  /** Absent for a file sent by URL: it is not stored, there is nothing to fetch. */
  mediaId: Uuid.optional(),
  mimeType: z.string().min(1).max(255),
  fileName: z.string().min(1).max(1024).optional(),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^([0-9a-f]{64})?$/, 'must be a hex SHA-256'),
  caption: z.string().min(1).max(65_536).optional(),
  /** Set when the file could not be fetched; the message is kept without it. */
  error: z.string().min(1).max(64).optional(),
  /** An outbound file sent by URL (fetched by the runner, not stored, hence no `mediaId`). */
  url: z.string().optional(),
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

/** A file name as WhatsApp shows it on a document: no path separators or control characters. */
const FileName = z
  .string()
  .min(1)
  .max(240)
  .refine(
    (name) => !/[/\\]/.test(name) && ![...name].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127),
    'must be a file name without / \\ or control characters',
  );
const MimeType = z.string().min(3).max(255);

/** `POST /whatsapp-qr/media`: the file about to be uploaded (its type and exact size are signed). */
export const MediaUploadBody = z.strictObject({
  mimeType: MimeType,
  fileName: FileName.optional(),
  size: z.number().int().min(1, 'must be at least 1 byte'),
});
export const MediaUploadResponse = z.object({
  mediaId: Uuid,
  /** PUT the bytes here with exactly the `Content-Type` and `Content-Length` declared. */
  uploadUrl: z.url(),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type MediaUploadInput = z.infer<typeof MediaUploadBody>;

/** The `media` of `POST /whatsapp-qr/send`: an uploaded file (`mediaId`) or an HTTPS `url`. */
export const SendMediaBody = z
  .strictObject({
    mediaId: Uuid.optional(),
    url: z.string().min(1).max(2048).optional(),
    /** Required with `url`: what the fetched file must be; an uploaded file's type is already known. */
    mimeType: MimeType.optional(),
    fileName: FileName.optional(),
    caption: z.string().min(1).max(1024).optional(),
  })
  .refine((m) => (m.mediaId === undefined) !== (m.url === undefined), {
    message: 'give exactly one of mediaId and url',
  })
  // The kind and size cap of a fetched file are fixed before the fetch, and its Content-Type checked.
  .refine((m) => m.url === undefined || m.mimeType !== undefined, {
    message: 'mimeType is required with url',
    path: ['mimeType'],
  });
export type SendMediaInput = z.infer<typeof SendMediaBody>;
