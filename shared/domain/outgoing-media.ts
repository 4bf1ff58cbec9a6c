/**
 * Which files a tenant may send, and how large, as WhatsApp takes them (the Cloud API's documented
 * limits): images (JPEG, PNG, WebP) up to 5 MB, audio (OGG/Opus voice notes, MP3, M4A) and MP4
 * video up to 16 MB, documents of any other type up to 100 MB. An image, audio or video type
 * WhatsApp does not play (GIF, WAV, WebM, …) is refused rather than silently sent as a document:
 * the tenant would expect it to show inline.
 */

export type OutgoingMediaKind = 'image' | 'audio' | 'video' | 'document';

const MB = 1024 * 1024;

/** The size cap of each kind, in bytes. */
export const MEDIA_SIZE_LIMITS: Record<OutgoingMediaKind, number> = {
  image: 5 * MB,
  audio: 16 * MB,
  video: 16 * MB,
  document: 100 * MB,
};

/** The image, audio and video types WhatsApp shows inline (parameters like `; codecs=opus` aside). */
const INLINE_TYPES: Record<string, OutgoingMediaKind> = {
  'image/jpeg': 'image',
  'image/png': 'image',
  'image/webp': 'image',
  'audio/ogg': 'audio',
  'audio/mpeg': 'audio',
  'audio/mp4': 'audio',
  'audio/x-m4a': 'audio',
  'audio/m4a': 'audio',
  'video/mp4': 'video',
};

const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** `image/jpeg` of `Image/JPEG; charset=x`: the part that decides the kind. */
export const essenceOf = (mimeType: string): string => mimeType.split(';')[0]?.trim().toLowerCase() ?? '';

export type MediaRefusal = { code: 'UNSUPPORTED_MEDIA' | 'MEDIA_TOO_LARGE'; reason: string };

/** The kind a file of this type is sent as, or the reason it cannot be sent. */
export const mediaKindOf = (mimeType: string): OutgoingMediaKind | MediaRefusal => {
  const essence = essenceOf(mimeType);
  if (!MIME_TYPE.test(essence)) {
    return { code: 'UNSUPPORTED_MEDIA', reason: `${JSON.stringify(mimeType)} is not a media type` };
  }
  const inline = INLINE_TYPES[essence];
  if (inline) return inline;
  const top = essence.split('/')[0];
  if (top === 'image' || top === 'audio' || top === 'video') {
    return {
      code: 'UNSUPPORTED_MEDIA',
      reason: `${essence} is not supported: images are JPEG, PNG or WebP, audio OGG/Opus, MP3 or M4A, video MP4`,
    };
  }
  return 'document';
};

/** Why a file of this type and size cannot be sent, or undefined when it can. */
export const outgoingMediaProblem = (mimeType: string, size: number): MediaRefusal | undefined => {
  const kind = mediaKindOf(mimeType);
  if (typeof kind !== 'string') return kind;
  const limit = MEDIA_SIZE_LIMITS[kind];
  if (size > limit) {
    return {
      code: 'MEDIA_TOO_LARGE',
      reason: `a ${kind} may be at most ${limit / MB} MB (${limit} bytes); this one is ${size} bytes`,
    };
  }
  return undefined;
};

/** An OGG audio file goes out as a voice note (WhatsApp records voice notes as OGG/Opus). */
export const isVoiceNote = (mimeType: string): boolean => essenceOf(mimeType) === 'audio/ogg';

/** The text kept with a sent file (what the conversation and the AI read): `[document: a.pdf]`. */
export const outgoingMediaNote = (media: {
  mimeType: string;
  fileName?: string;
  caption?: string;
}): string => {
  const found = mediaKindOf(media.mimeType);
  const kind =
    found === 'audio' && isVoiceNote(media.mimeType)
      ? 'voice note'
      : typeof found === 'string'
        ? found
        : 'document';
  const label = media.caption ?? (kind === 'document' ? media.fileName : undefined);
  return label ? `[${kind}: ${label}]` : `[${kind}]`;
};
