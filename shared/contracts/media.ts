import * as z from '../zod.ts';
import { Uuid } from './common.ts';

/** A message's file (see `shared/domain/media.ts`). */
export const MessageMediaSchema = z.object({
  /** Absent for a file sent by URL: it is not stored, there is nothing to fetch. */
  mediaId: z.optional(Uuid),
  mimeType: z.string().check(z.minLength(1), z.maxLength(255)),
  fileName: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
  size: z.number().check(z.int(), z.gte(0)),
  sha256: z.string().check(z.regex(/^([0-9a-f]{64})?$/, 'must be a hex SHA-256')),
  caption: z.optional(z.string().check(z.minLength(1), z.maxLength(65_536))),
  /** Set when the file could not be fetched; the message is kept without it. */
  error: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** An outbound file sent by URL (fetched by the runner, not stored, hence no `mediaId`). */
  url: z.optional(z.string()),
});

/** `GET /whatsapp-qr/media/{mediaId}`. */
export const MediaIdParams = z.object({ mediaId: Uuid });
export const MediaLinkQuery = z.object({ format: z.optional(z.enum(['json'])) });
/** The 302 of `GET /media/{mediaId}` has no body: the link is in `Location`. */
export const MediaRedirect = z.undefined();
export const MediaLinkResponse = z.object({
  url: z.url(),
  mimeType: z.string(),
  fileName: z.optional(z.string()),
  size: z.number().check(z.int(), z.gte(0)),
  sha256: z.string(),
});

/** A file name as WhatsApp shows it on a document: no path separators or control characters. */
const FileName = z.string().check(
  z.minLength(1),
  z.maxLength(240),
  z.refine(
    (name) => !/[/\\]/.test(name) && ![...name].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127),
    'must be a file name without / \\ or control characters',
  ),
);
const MimeType = z.string().check(z.minLength(3), z.maxLength(255));

/** `POST /whatsapp-qr/media`: the file about to be uploaded (its type and exact size are signed). */
export const MediaUploadBody = z.strictObject({
  mimeType: MimeType,
  fileName: z.optional(FileName),
  size: z.number().check(z.int(), z.gte(1, 'must be at least 1 byte')),
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
    mediaId: z.optional(Uuid),
    url: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
    /** Required with `url`: what the fetched file must be; an uploaded file's type is already known. */
    mimeType: z.optional(MimeType),
    fileName: z.optional(FileName),
    caption: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
  })
  .check(
    z.refine((m) => (m.mediaId === undefined) !== (m.url === undefined), {
      message: 'give exactly one of mediaId and url',
    }),
    // The kind and size cap of a fetched file are fixed before the fetch, and its Content-Type checked.
    z.refine((m) => m.url === undefined || m.mimeType !== undefined, {
      message: 'mimeType is required with url',
      path: ['mimeType'],
    }),
  );
export type SendMediaInput = z.infer<typeof SendMediaBody>;
