import { proto } from '@whiskeysockets/baileys';
import type { SentMedia } from '#shared/ports/message-store.ts';
import { mediaOf } from './whatsapp-media.ts';

/**
 * What a sent file leaves on its stored message, from the message Baileys built and sent: the
 * plain size and sha256 WhatsApp was told (so the tenant sees the real ones, for a file sent by
 * URL too), and the media message itself (url, directPath, mediaKey, hashes, type, name,
 * caption, ptt), so a recipient's retry request is answered with the file without its bytes.
 * Undefined when the message carries no file. The media key inside is a secret: never logged.
 */
export const sentMediaOf = (message: proto.IMessage | null | undefined): SentMedia | undefined => {
  const media = mediaOf(message);
  if (!message || !media || media.fileLength === undefined || !media.fileSha256) return undefined;
  return {
    size: media.fileLength,
    sha256: media.fileSha256.toString('hex'),
    waMedia: Buffer.from(proto.Message.encode(message).finish()).toString('base64'),
  };
};

/** The media message to send again for a retry request, from what {@link sentMediaOf} stored. */
export const resendMessageOf = (waMedia: string): proto.IMessage =>
  proto.Message.decode(Buffer.from(waMedia, 'base64'));
