import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { AnyMediaMessageContent } from '@whiskeysockets/baileys';
import { pinnedRequest, systemAddressResolver } from '#shared/adapters/node-webhook-sender.ts';
import type { MessageMedia } from '#shared/domain/media.ts';
import {
  essenceOf,
  isVoiceNote,
  MEDIA_SIZE_LIMITS,
  mediaKindOf,
  type OutgoingMediaKind,
} from '#shared/domain/outgoing-media.ts';
import { vetWebhookUrl } from '#shared/domain/webhook-url-policy.ts';
import type { Logger } from '#shared/logger.ts';
import type { AddressResolver } from '#shared/ports/address-resolver.ts';
import type { MediaStore } from '#shared/ports/media-store.ts';
import { completeUploadDescription } from '#shared/use-cases/media.ts';

/** A fetch of a tenant's URL ends after this long, whatever is still coming. */
export const MEDIA_FETCH_TIMEOUT_MS = 60_000;

/**
 * Why a file could not be sent; `code` becomes the message's FAILED reason. `transient`: a later
 * attempt may work (the host was down or slow), so the send's usual bounded retries apply.
 */
export class OutgoingMediaError extends Error {
  override readonly name = 'OutgoingMediaError';
  constructor(
    readonly code: string,
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

export interface OutgoingMediaOptions {
  /** The tenants' uploaded files (read, and given the sha256 of what was sent). */
  store: Pick<MediaStore, 'open' | 'completeDescription'>;
  /** Where a failed sha256 write-back is reported (it never fails the send). */
  logger?: Pick<Logger, 'warn'>;
  /** Resolves a URL's host once; the connection goes to the vetted address (no second lookup). */
  resolver?: AddressResolver;
  /** The local stack only: URLs on loopback, over http:// too (WEBHOOK_ALLOW_LOOPBACK). */
  allowLoopback?: boolean;
  timeoutMs?: number;
  /** Trusted roots instead of Node's, for an https test server with its own certificate. */
  ca?: string;
}

/** A file ready for Baileys, and how to let go of its stream when the send did not read it. */
export interface PreparedMedia {
  content: AnyMediaMessageContent;
  close(): void;
}

/**
 * The file of an outbound message as Baileys takes it: streamed from the tenant's upload in S3
 * or from the tenant's URL (public addresses only, unless loopback is allowed; no redirects; a
 * timeout; its Content-Type checked against the declared type; cut off past WhatsApp's size cap
 * for the kind). Nothing holds the whole file: Baileys encrypts the stream into a temporary file
 * and uploads that.
 */
export class OutgoingMedia {
  private readonly writeBacks = new Set<Promise<void>>();

  constructor(private readonly options: OutgoingMediaOptions) {}

  /** Opens the file's bytes; rejects with an {@link OutgoingMediaError} that names the reason. */
  async prepare(tenantId: string, media: MessageMedia): Promise<PreparedMedia> {
    const kind = mediaKindOf(media.mimeType);
    if (typeof kind !== 'string') throw new OutgoingMediaError(kind.code, kind.reason);
    const { url, mediaId } = media;
    if (!url && !mediaId) throw new OutgoingMediaError('MEDIA_UNAVAILABLE', 'the message names no file');
    let source: Readable;
    let hashed: ((sha256: string, size: number) => void) | undefined;
    if (url) source = await this.fetch(url, media.mimeType);
    else {
      const opened = await this.options.store.open(tenantId, mediaId as string).catch((error: unknown) => {
        throw new OutgoingMediaError(
          'MEDIA_UNAVAILABLE',
          `the uploaded file could not be read: ${String(error)}`,
          true,
        );
      });
      source = opened.body;
      // A presigned PUT leaves the upload without its sha256: the bytes sent are hashed on the
      // way and the hash kept with the file, as GET /media would (which then reads nothing).
      // Kept only when every byte of the file passed (a body that ended early hashes a prefix).
      if (!opened.info.sha256) {
        hashed = (sha256, size) => {
          if (size === opened.info.size)
            this.writeBack(tenantId, mediaId as string, { sha256, version: opened.version });
        };
      }
    }
    const stream = source.pipe(capped(MEDIA_SIZE_LIMITS[kind], kind, hashed));
    source.on('error', (error) => stream.destroy(error));
    return {
      content: contentOf(kind, media, stream),
      close: () => {
        source.destroy();
        stream.destroy();
      },
    };
  }

  /** Settles once every sha256 write-back started so far has (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.writeBacks]);
  }

  private writeBack(tenantId: string, mediaId: string, hashed: { sha256: string; version: string }) {
    const done = completeUploadDescription({ media: this.options.store }, tenantId, mediaId, hashed).then(
      () => undefined,
      (error: unknown) =>
        // GET /media hashes the file itself when this did not land.
        this.options.logger?.warn('sha256 of a sent upload not recorded', { mediaId, error: String(error) }),
    );
    this.writeBacks.add(done);
    void done.finally(() => this.writeBacks.delete(done));
  }

  private async fetch(raw: string, declaredType: string): Promise<Readable> {
    const allowLoopback = this.options.allowLoopback === true;
    const vetted = await vetWebhookUrl(raw, this.options.resolver ?? systemAddressResolver, {
      allowLoopback,
    });
    if (!vetted.ok) {
      const code = vetted.code === 'URL_NOT_PUBLIC' ? 'MEDIA_URL_NOT_PUBLIC' : 'MEDIA_URL_INVALID';
      throw new OutgoingMediaError(code, vetted.reason, vetted.code === 'URL_NOT_RESOLVABLE');
    }
    const { url, address } = vetted;
    const timeoutMs = this.options.timeoutMs ?? MEDIA_FETCH_TIMEOUT_MS;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = pinnedRequest(
        url,
        address,
        {
          method: 'GET',
          headers: { 'user-agent': 'whatsapp-qr-gateway-media/1' },
          timeout: timeoutMs,
          ca: this.options.ca,
        },
        resolve,
      );
      req.on('timeout', () =>
        req.destroy(new OutgoingMediaError('MEDIA_URL_TIMEOUT', `no answer within ${timeoutMs} ms`, true)),
      );
      req.on('error', (error) =>
        reject(
          error instanceof OutgoingMediaError
            ? error
            : new OutgoingMediaError('MEDIA_URL_FAILED', `the media URL failed: ${error.message}`, true),
        ),
      );
      req.end();
    });
    // The whole transfer is bounded too, not only each pause in it.
    const deadline = setTimeout(
      () =>
        response.destroy(
          new OutgoingMediaError('MEDIA_URL_TIMEOUT', `not fetched within ${timeoutMs} ms`, true),
        ),
      timeoutMs,
    );
    deadline.unref();
    response.on('close', () => clearTimeout(deadline));
    const status = response.statusCode ?? 0;
    if (status !== 200) {
      response.destroy();
      // A redirect is not followed: its target was never vetted.
      throw new OutgoingMediaError(
        'MEDIA_URL_FAILED',
        `the media URL answered ${status}`,
        status >= 500 || status === 429,
      );
    }
    const given = response.headers['content-type'];
    if (
      given &&
      essenceOf(given) !== 'application/octet-stream' &&
      essenceOf(given) !== essenceOf(declaredType)
    ) {
      response.destroy();
      throw new OutgoingMediaError(
        'MEDIA_TYPE_MISMATCH',
        `the media URL serves ${essenceOf(given)}, not the declared ${essenceOf(declaredType)}`,
      );
    }
    return response;
  }
}

/**
 * Passes the bytes through, failing the stream once they exceed the cap of the kind; with
 * `hashed`, hands it the sha256 of all the bytes once they all passed.
 */
const capped = (
  limit: number,
  kind: OutgoingMediaKind,
  hashed?: (sha256: string, size: number) => void,
): Transform => {
  let size = 0;
  const hash = hashed && createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      size += chunk.length;
      if (size > limit) {
        callback(new OutgoingMediaError('MEDIA_TOO_LARGE', `a ${kind} may be at most ${limit} bytes`));
        return;
      }
      hash?.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (hash && hashed) hashed(hash.digest('hex'), size);
      callback();
    },
  });
};

/** What Baileys sends for each kind: OGG audio as a voice note, a document with its file name. */
export const contentOf = (
  kind: OutgoingMediaKind,
  media: Pick<MessageMedia, 'mimeType' | 'fileName' | 'caption'>,
  stream: Readable,
): AnyMediaMessageContent => {
  const caption = media.caption ? { caption: media.caption } : {};
  switch (kind) {
    case 'image':
      return { image: { stream }, mimetype: media.mimeType, ...caption };
    case 'video':
      return { video: { stream }, mimetype: media.mimeType, ...caption };
    case 'audio':
      // WhatsApp shows no caption on audio; the message's text keeps it.
      return isVoiceNote(media.mimeType)
        ? { audio: { stream }, mimetype: 'audio/ogg; codecs=opus', ptt: true }
        : { audio: { stream }, mimetype: media.mimeType };
    case 'document':
      return {
        document: { stream },
        mimetype: media.mimeType,
        fileName: media.fileName ?? 'file',
        ...caption,
      };
  }
};
