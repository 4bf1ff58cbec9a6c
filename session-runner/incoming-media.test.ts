import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Logger } from '#shared/logger.ts';
import { InMemoryMediaStore } from '#shared/testing/in-memory-media-store.ts';
import { IncomingMedia, type IncomingMediaOptions } from './incoming-media.ts';
import { type DownloadedMedia, type MediaContent, MediaDownloadError, mediaNote } from './whatsapp-media.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const bytes = randomBytes(4000);
const image: MediaContent = {
  type: 'image',
  voiceNote: false,
  mimeType: 'image/jpeg',
  caption: 'broken lid',
  fileLength: bytes.length,
  fileSha256: sha256(bytes),
  mediaKey: randomBytes(32),
  directPath: '/v/t62.7118-24/abc',
};

/** A download that hands out `bytes` (as the real one: a stream, and a promise of its check). */
const serving = async (): Promise<DownloadedMedia> => {
  const stream = new PassThrough();
  stream.end(bytes);
  return { stream, done: Promise.resolve({ size: bytes.length, sha256: sha256(bytes).toString('hex') }) };
};
const unreachable = async (): Promise<DownloadedMedia> => {
  throw new MediaDownloadError('the media host answered 503');
};

const warnings: string[] = [];
const logger = { warn: (message: string) => warnings.push(message) } as unknown as Logger;

const make = (download: IncomingMediaOptions['download'], store = new InMemoryMediaStore()) => {
  const delays: number[] = [];
  const media = new IncomingMedia({
    store,
    logger,
    download,
    timers: {
      setTimeout: (fn, ms) => {
        delays.push(ms);
        fn();
        return 0;
      },
    },
  });
  return { media, store, delays };
};

describe('incoming media', () => {
  it('stores the file under the tenant and describes it with the sha256 of the plain bytes', async () => {
    const { media, store } = make(serving);
    const id = randomUUID();
    const described = await media.capture('tenant-a', id, image);
    expect(described).toEqual({
      mediaId: id,
      mimeType: 'image/jpeg',
      size: bytes.length,
      sha256: sha256(bytes).toString('hex'),
      caption: 'broken lid',
    });
    expect(store.files.get(`media/tenant-a/${id}`)?.body.equals(bytes)).toBe(true);
  });

  it('retries a failed download with backoff and stores the file once it comes', async () => {
    let calls = 0;
    const { media, delays } = make(async () => (++calls < 3 ? unreachable() : serving()));
    const described = await media.capture('tenant-a', randomUUID(), image);
    expect(described.error).toBeUndefined();
    expect(calls).toBe(3);
    expect(delays).toEqual([1000, 2000]);
  });

  it('records a file that never comes as failed, with what the message declared, instead of dropping it', async () => {
    const { media, store } = make(unreachable);
    const id = randomUUID();
    const described = await media.capture('tenant-a', id, image);
    expect(described).toMatchObject({
      mediaId: id,
      size: bytes.length,
      sha256: sha256(bytes).toString('hex'),
      error: 'MEDIA_DOWNLOAD_FAILED',
    });
    expect(store.files.size).toBe(0);
    expect(warnings).toContain('incoming media not stored');
  });

  it('retries when the store is down, too', async () => {
    const store = new InMemoryMediaStore();
    store.failPuts = 1;
    const { media } = make(serving, store);
    const id = randomUUID();
    expect((await media.capture('tenant-a', id, image)).error).toBeUndefined();
    expect(store.files.has(`media/tenant-a/${id}`)).toBe(true);
  });

  it('refuses a file over the size cap without downloading it', async () => {
    let calls = 0;
    const { media } = make(async () => {
      calls++;
      return serving();
    });
    const huge = { ...image, fileLength: 200 * 1024 * 1024 };
    expect((await media.capture('t', randomUUID(), huge)).error).toBe('MEDIA_TOO_LARGE');
    expect(calls).toBe(0);
  });
});

describe('media note for the AI', () => {
  it('names the kind and the caption or file name', () => {
    expect(mediaNote({ mimeType: 'image/jpeg', caption: 'broken lid' })).toBe('[image: broken lid]');
    expect(mediaNote({ mimeType: 'audio/ogg; codecs=opus', voiceNote: true })).toBe('[voice note]');
    expect(mediaNote({ mimeType: 'application/pdf', fileName: 'invoice.pdf' })).toBe(
      '[document: invoice.pdf]',
    );
    expect(mediaNote({ mimeType: 'video/mp4' })).toBe('[video]');
  });
});
