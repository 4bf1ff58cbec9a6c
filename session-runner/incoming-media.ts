import { Readable } from 'node:stream';
import { deriveId } from '#shared/domain/ids.ts';
import type { MessageMedia } from '#shared/domain/media.ts';
import type { Logger } from '#shared/logger.ts';
import type { MediaStore } from '#shared/ports/media-store.ts';
import {
  type DownloadedMedia,
  downloadMedia,
  type MediaContent,
  type MediaSource,
} from './whatsapp-media.ts';

/** Larger incoming files are recorded as failed without a download (WhatsApp's limit is 2 GB). */
export const MAX_INCOMING_MEDIA_BYTES = 100 * 1024 * 1024;

export interface IncomingMediaOptions {
  store: MediaStore;
  /** Where downloads come from (WhatsApp's host, or the simulator's with its CA). */
  source?: MediaSource;
  logger: Logger;
  timers: { setTimeout(fn: () => void, ms: number): unknown };
  /** Attempts before the file is recorded as failed; 3 by default. */
  attempts?: number;
  /** First pause between attempts, doubled each time; 1 s by default. */
  baseDelayMs?: number;
  maxBytes?: number;
  /** The download (tests replace it to simulate an unreachable host). */
  download?: (media: MediaContent, source: MediaSource) => Promise<DownloadedMedia>;
}

/**
 * Fetches the file of an incoming message from WhatsApp, decrypts it and streams it into the
 * tenant's media store (never held whole in memory), retrying a failed download; a file that
 * still cannot be fetched is described with an `error`, so the message is kept, never dropped.
 */
export class IncomingMedia {
  constructor(private readonly options: IncomingMediaOptions) {}

  /** Stores the file as `mediaId` of the tenant and describes it; resolves (never rejects) once done. */
  async capture(tenantId: string, mediaId: string, media: MediaContent): Promise<MessageMedia> {
    const declared: MessageMedia = {
      mediaId,
      mimeType: media.mimeType,
      ...(media.fileName && { fileName: media.fileName }),
      size: media.fileLength ?? 0,
      sha256: media.fileSha256?.toString('hex') ?? '',
      ...(media.caption && { caption: media.caption }),
    };
    const refusal = this.refusal(media);
    if (refusal) return { ...declared, error: refusal };
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        const { size, sha256 } = await this.transfer(tenantId, mediaId, media, declared);
        return { ...declared, size, sha256 };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (attempt >= attempts) {
          this.options.logger.warn('incoming media not stored', { mediaId, attempts, reason });
          return { ...declared, error: 'MEDIA_DOWNLOAD_FAILED' };
        }
        const delay = (this.options.baseDelayMs ?? 1000) * 2 ** (attempt - 1);
        await new Promise<void>((resolve) => this.options.timers.setTimeout(resolve, delay));
      }
    }
  }

  private refusal(media: MediaContent): string | undefined {
    // The declared length lets the upload stream with a known size; the decryptor checks it.
    if (media.fileLength === undefined || !media.fileSha256) return 'MEDIA_UNDESCRIBED';
    if (media.fileLength > (this.options.maxBytes ?? MAX_INCOMING_MEDIA_BYTES)) return 'MEDIA_TOO_LARGE';
    return undefined;
  }

  private async transfer(tenantId: string, mediaId: string, media: MediaContent, declared: MessageMedia) {
    const download = this.options.download ?? downloadMedia;
    const { stream, done } = await download(media, this.options.source ?? {});
    const body = stream instanceof Readable ? stream : Readable.from(stream);
    const stored = this.options.store.put(tenantId, mediaId, body, {
      mimeType: declared.mimeType,
      ...(declared.fileName && { fileName: declared.fileName }),
      size: declared.size,
      // The decryptor fails the stream unless the bytes hash to this, so it can be written up front.
      sha256: declared.sha256,
    });
    try {
      const [result] = await Promise.all([done, stored]);
      return result;
    } catch (error) {
      stream.destroy();
      await stored.catch(() => undefined);
      throw error;
    }
  }
}

/** The file's id, derived from the message: a redelivered message overwrites its file, never adds one. */
export const mediaIdOf = (sessionId: string, waMessageId: string): string =>
  deriveId('media', sessionId, waMessageId);
