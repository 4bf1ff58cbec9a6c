import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { request } from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { getMediaKeys, type MediaType, type proto } from '@whiskeysockets/baileys';
import { isLoopbackHost } from '#shared/loopback.ts';

/** WhatsApp's media host for downloads by `directPath` (Baileys' `DEF_MEDIA_HOST`). */
export const WHATSAPP_MEDIA_HOST = 'mmg.whatsapp.net';
const MAC_LENGTH = 10;

/** The media part of a WhatsApp message: which keys it uses and what it says about the file. */
export interface MediaContent {
  /** The HKDF info type of the media key (`image`, `video`, `audio`, `document`, `sticker`). */
  type: MediaType;
  /** `[voice note]` rather than `[audio]`: an OGG/Opus recording made in the chat. */
  voiceNote: boolean;
  mimeType: string;
  fileName?: string;
  caption?: string;
  /** Plain length and SHA-256 as the sender declared them (checked against the bytes on download). */
  fileLength?: number;
  fileSha256?: Buffer;
  fileEncSha256?: Buffer;
  mediaKey: Buffer;
  directPath?: string;
  url?: string;
}

type MediaProto = proto.Message.IImageMessage &
  proto.Message.IDocumentMessage &
  proto.Message.IAudioMessage &
  proto.Message.IVideoMessage;

/** The media of a message (image, video, audio, document, sticker), or undefined for anything else. */
export function mediaOf(message: proto.IMessage | null | undefined): MediaContent | undefined {
  if (!message) return undefined;
  const candidates: Array<[MediaType, MediaProto | null | undefined]> = [
    ['image', message.imageMessage],
    ['video', message.videoMessage],
    ['audio', message.audioMessage],
    ['document', message.documentMessage ?? message.documentWithCaptionMessage?.message?.documentMessage],
    ['sticker', message.stickerMessage as MediaProto | null | undefined],
  ];
  for (const [type, content] of candidates) {
    if (!content?.mediaKey?.length) continue;
    return {
      type,
      voiceNote: type === 'audio' && content.ptt === true,
      mimeType: content.mimetype || 'application/octet-stream',
      ...(content.fileName ? { fileName: content.fileName } : {}),
      ...(content.caption ? { caption: content.caption } : {}),
      ...(content.fileLength != null ? { fileLength: Number(content.fileLength) } : {}),
      ...(content.fileSha256?.length ? { fileSha256: Buffer.from(content.fileSha256) } : {}),
      ...(content.fileEncSha256?.length ? { fileEncSha256: Buffer.from(content.fileEncSha256) } : {}),
      mediaKey: Buffer.from(content.mediaKey),
      ...(content.directPath ? { directPath: content.directPath } : {}),
      ...(content.url ? { url: content.url } : {}),
    };
  }
  return undefined;
}

/** What the AI reads in place of a file: `[image: caption]`, `[voice note]`, `[document: name]`. */
export function mediaNote(media: {
  mimeType: string;
  fileName?: string;
  caption?: string;
  voiceNote?: boolean;
}) {
  const kind = media.voiceNote
    ? 'voice note'
    : media.mimeType.startsWith('image/')
      ? 'image'
      : media.mimeType.startsWith('video/')
        ? 'video'
        : media.mimeType.startsWith('audio/')
          ? 'audio'
          : 'document';
  const label = media.caption ?? (kind === 'document' ? media.fileName : undefined);
  return label ? `[${kind}: ${label}]` : `[${kind}]`;
}

export interface MediaSource {
  /**
   * The simulator's media CA (PEM). Only with it, the host of a loopback `url` is used and
   * trusted; without it every download goes to WhatsApp's host under the public roots, so a
   * message can never make the runner fetch an address of the sender's choosing.
   */
  simulatorCa?: string | undefined;
  timeoutMs?: number;
}

/** Where the encrypted file of `media` is fetched from (see {@link MediaSource.simulatorCa}). */
export function downloadUrlOf(media: MediaContent, source: MediaSource = {}): URL {
  const given = media.url ? safeUrl(media.url) : undefined;
  if (source.simulatorCa) {
    const onLoopback = given?.protocol === 'https:' && isLoopbackHost(given.hostname);
    if (!given || !onLoopback) {
      throw new MediaDownloadError('the media URL is not on the simulator (loopback)');
    }
    return media.directPath ? new URL(media.directPath, given.origin) : given;
  }
  if (media.directPath?.startsWith('/')) return new URL(`https://${WHATSAPP_MEDIA_HOST}${media.directPath}`);
  if (given?.protocol === 'https:' && given.hostname.endsWith('.whatsapp.net')) return given;
  throw new MediaDownloadError('the message has no WhatsApp media path');
}

/**
 * The download source of a runner: the simulator's CA only for a loopback WhatsApp URL (as its
 * root key), refused otherwise; WhatsApp's host under the public roots without one.
 */
export function mediaSourceFor(waWebSocketUrl: string, simulatorCa: string | undefined): MediaSource {
  if (!simulatorCa) return {};
  if (!isLoopbackHost(new URL(waWebSocketUrl).hostname)) {
    throw new MediaDownloadError('refusing the simulator media CA: the WhatsApp URL is not loopback');
  }
  return { simulatorCa };
}

/** A download failed: not reachable, refused, or the bytes do not match what the message declares. */
export class MediaDownloadError extends Error {
  override readonly name = 'MediaDownloadError';
}

export interface DownloadedMedia {
  /** The plain bytes, streamed: nothing holds the whole file. Errors when the file is not authentic. */
  stream: Transform;
  /** Settles after the stream ended: the plain length and SHA-256 (hex), MAC and hashes checked. */
  done: Promise<{ size: number; sha256: string }>;
}

/**
 * Downloads and decrypts a WhatsApp media file as a stream (AES-256-CBC, keys by HKDF from the
 * media key, as Baileys' `getMediaKeys`), verifying what Baileys' own download does not: the
 * HMAC-SHA256 (first 10 bytes) over IV and ciphertext, the encrypted and the plain SHA-256 and the
 * length the sender declared.
 */
export async function downloadMedia(media: MediaContent, source: MediaSource = {}): Promise<DownloadedMedia> {
  const url = downloadUrlOf(media, source);
  const keys = await getMediaKeys(media.mediaKey, media.type);
  const body = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: { Origin: 'https://web.whatsapp.com' },
        timeout: source.timeoutMs ?? 30_000,
        ...(source.simulatorCa ? { ca: source.simulatorCa } : {}),
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new MediaDownloadError(`the media host answered ${res.statusCode}`));
          return;
        }
        resolve(res);
      },
    );
    req.on('timeout', () => req.destroy(new MediaDownloadError('the media download timed out')));
    req.on('error', (e) => reject(e instanceof MediaDownloadError ? e : new MediaDownloadError(e.message)));
    req.end();
  });
  const decrypting = decryptingStream(media, keys);
  const { stream } = decrypting;
  body.on('error', (e: Error) => {
    stream.destroy(new MediaDownloadError(`the media download broke off: ${e.message}`));
  });
  body.pipe(stream);
  return decrypting;
}

/**
 * The plain bytes of a WhatsApp media file written into it encrypted (IV and keys from
 * `getMediaKeys`): each chunk decrypted as it comes, the MAC, hashes and length checked at the
 * end (the stream errors, and `done` rejects, when one does not match).
 */
export function decryptingStream(
  media: Pick<MediaContent, 'fileEncSha256' | 'fileSha256' | 'fileLength'>,
  keys: { cipherKey: Uint8Array; iv: Uint8Array; macKey?: Uint8Array | undefined },
): DownloadedMedia {
  const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  const hmac = createHmac('sha256', keys.macKey as Uint8Array).update(keys.iv);
  const encHash = createHash('sha256');
  const plainHash = createHash('sha256');
  let held = Buffer.alloc(0);
  let size = 0;
  let settle!: { resolve: (v: { size: number; sha256: string }) => void; reject: (e: Error) => void };
  const done = new Promise<{ size: number; sha256: string }>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => undefined); // the stream reports the same error
  const push = (stream: Transform, plain: Buffer) => {
    size += plain.length;
    plainHash.update(plain);
    if (plain.length) stream.push(plain);
  };
  const decrypt = (stream: Transform, ciphertext: Buffer) => {
    if (!ciphertext.length) return;
    hmac.update(ciphertext);
    push(stream, decipher.update(ciphertext));
  };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      encHash.update(chunk);
      // The last 10 bytes are the MAC: hold them back until the end. The chunk is decrypted where
      // it lies, not copied behind the held bytes first: every copy of a chunk is garbage that
      // waits for a GC, and raises the runner's peak RSS while a file passes.
      if (chunk.length < MAC_LENGTH) {
        const data = Buffer.concat([held, chunk]);
        const cut = Math.max(0, data.length - MAC_LENGTH);
        decrypt(this, data.subarray(0, cut));
        held = data.subarray(cut);
      } else {
        decrypt(this, held);
        decrypt(this, chunk.subarray(0, chunk.length - MAC_LENGTH));
        // A copy of 10 bytes, so the chunk itself is not kept alive until the next one.
        held = Buffer.from(chunk.subarray(chunk.length - MAC_LENGTH));
      }
      callback();
    },
    flush(callback: TransformCallback) {
      try {
        const mac = hmac.digest().subarray(0, MAC_LENGTH);
        if (held.length !== MAC_LENGTH || !timingSafeEqual(mac, held)) {
          throw new MediaDownloadError('the media MAC does not match');
        }
        push(this, decipher.final());
        const sha256 = plainHash.digest();
        if (media.fileEncSha256 && !media.fileEncSha256.equals(encHash.digest())) {
          throw new MediaDownloadError('the encrypted media hash does not match');
        }
        if (media.fileSha256 && !media.fileSha256.equals(sha256)) {
          throw new MediaDownloadError('the media hash does not match');
        }
        if (media.fileLength !== undefined && media.fileLength !== size) {
          throw new MediaDownloadError('the media length does not match');
        }
        settle.resolve({ size, sha256: sha256.toString('hex') });
        callback();
      } catch (error) {
        const failure = error instanceof MediaDownloadError ? error : new MediaDownloadError(String(error));
        settle.reject(failure);
        callback(failure);
      }
    },
  });
  stream.on('error', (e) => settle.reject(e));
  return { stream, done };
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}
