import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { getMediaKeys, type MediaType, type proto } from '@whiskeysockets/baileys';
import type { MediaContent } from '#runner/whatsapp-media.ts';
import type { MediaStore } from './media-host.ts';

/** A file a virtual contact sends. */
export interface OutgoingFile {
  bytes: Buffer;
  mimeType: string;
  fileName?: string | undefined;
  caption?: string | undefined;
}

/** What the inbox shows of a file a contact received (sha256 of the plain bytes, hex). */
export interface ReceivedFile {
  mimeType: string;
  fileName?: string;
  size: number;
  sha256: string;
  caption?: string;
}

/**
 * Encrypts a file as a WhatsApp client does (AES-256-CBC with HKDF-expanded keys from a random
 * media key, then the first 10 bytes of HMAC-SHA256(iv || ciphertext)), puts it on the media host,
 * and returns the message that points to it: image (JPEG, PNG, WebP), video (MP4), voice note
 * (OGG), audio, or else a document.
 */
export async function mediaMessage(file: OutgoingFile, store: MediaStore): Promise<proto.IMessage> {
  const kind = kindOf(file.mimeType);
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, kind === 'ptt' ? 'audio' : kind);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const ciphertext = Buffer.concat([cipher.update(file.bytes), cipher.final()]);
  const mac = createHmac('sha256', macKey as Uint8Array)
    .update(iv)
    .update(ciphertext)
    .digest()
    .subarray(0, 10);
  const encrypted = Buffer.concat([ciphertext, mac]);
  const { directPath, url } = store.put(encrypted);
  const common = {
    url,
    directPath,
    mediaKey,
    mimetype: file.mimeType,
    fileSha256: sha256(file.bytes),
    fileEncSha256: sha256(encrypted),
    fileLength: file.bytes.length,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
  };
  const caption = file.caption ? { caption: file.caption } : {};
  switch (kind) {
    case 'image':
      return { imageMessage: { ...common, ...caption } };
    case 'video':
      return { videoMessage: { ...common, ...caption } };
    case 'ptt':
    case 'audio':
      return { audioMessage: { ...common, ptt: kind === 'ptt', seconds: 1 } };
    default:
      return {
        documentMessage: {
          ...common,
          ...caption,
          fileName: file.fileName ?? 'file',
          title: file.fileName ?? 'file',
        },
      };
  }
}

/** Fetches a received file from the media host's store and decrypts it; undefined when it is not authentic. */
export async function receiveMedia(
  media: MediaContent,
  store: MediaStore,
): Promise<ReceivedFile | undefined> {
  const encrypted = media.directPath ? store.get(media.directPath) : undefined;
  if (!encrypted || encrypted.length < 26) return undefined;
  const { iv, cipherKey, macKey } = await getMediaKeys(media.mediaKey, media.type);
  const ciphertext = encrypted.subarray(0, -10);
  const mac = createHmac('sha256', macKey as Uint8Array)
    .update(iv)
    .update(ciphertext)
    .digest()
    .subarray(0, 10);
  if (!timingSafeEqual(mac, encrypted.subarray(-10))) return undefined;
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
  return {
    mimeType: media.mimeType,
    ...(media.fileName ? { fileName: media.fileName } : {}),
    size: plain.length,
    sha256: sha256(plain).toString('hex'),
    ...(media.caption ? { caption: media.caption } : {}),
  };
}

function kindOf(mimeType: string): MediaType | 'ptt' {
  const type = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'image/jpeg' || type === 'image/png' || type === 'image/webp') return 'image';
  if (type === 'video/mp4') return 'video';
  if (type === 'audio/ogg') return 'ptt';
  if (type.startsWith('audio/')) return 'audio';
  return 'document';
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
