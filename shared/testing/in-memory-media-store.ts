import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mediaKeyOf } from '../domain/media.ts';
import type { HashedMedia, MediaStore, MediaUpload, OpenedMedia, StoredMedia } from '../ports/media-store.ts';

/** Files in memory, for unit tests; held by the same contract suite as the S3 store. */
export class InMemoryMediaStore implements MediaStore {
  readonly files = new Map<string, { info: StoredMedia; body: Buffer; version: string }>();
  readonly reservations = new Map<string, MediaUpload>();
  /** Makes the next `count` puts fail, like S3 during an outage. */
  failPuts = 0;
  private versions = 0;

  async put(tenantId: string, mediaId: string, body: Readable, info: StoredMedia): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    if (this.failPuts > 0) {
      this.failPuts -= 1;
      throw new Error('media store unavailable');
    }
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== info.size) throw new Error(`expected ${info.size} bytes, got ${bytes.length}`);
    this.versions += 1;
    this.files.set(mediaKeyOf(tenantId, mediaId), {
      info: { ...info },
      body: bytes,
      version: `v${this.versions}`,
    });
  }

  /** Not fetchable: a fake URL that names the file and the expiry, for assertions. */
  async presignGet(tenantId: string, mediaId: string, expiresInSeconds: number): Promise<string> {
    return `https://media.invalid/${mediaKeyOf(tenantId, mediaId)}?expires=${expiresInSeconds}`;
  }

  async reserve(tenantId: string, mediaId: string, upload: MediaUpload): Promise<void> {
    this.reservations.set(mediaKeyOf(tenantId, mediaId), { ...upload });
  }

  async reservation(tenantId: string, mediaId: string): Promise<MediaUpload | undefined> {
    const upload = this.reservations.get(mediaKeyOf(tenantId, mediaId));
    return upload && { ...upload };
  }

  /** Not fetchable either: names the file, the signed type and length, for assertions. */
  async presignPut(tenantId: string, mediaId: string, upload: MediaUpload, expiresInSeconds: number) {
    const query = new URLSearchParams({
      type: upload.mimeType,
      length: String(upload.size),
      expires: String(expiresInSeconds),
    });
    return `https://media.invalid/${mediaKeyOf(tenantId, mediaId)}?${query}`;
  }

  async completeDescription(
    tenantId: string,
    mediaId: string,
    hashed?: HashedMedia,
  ): Promise<StoredMedia | undefined> {
    const key = mediaKeyOf(tenantId, mediaId);
    const file = this.files.get(key);
    if (!file || (hashed && hashed.version !== file.version)) return undefined;
    file.info.sha256 = hashed?.sha256 ?? createHash('sha256').update(file.body).digest('hex');
    const fileName = file.info.fileName ?? this.reservations.get(key)?.fileName;
    if (fileName) file.info.fileName = fileName;
    return { ...file.info };
  }

  async open(tenantId: string, mediaId: string): Promise<OpenedMedia> {
    const file = this.files.get(mediaKeyOf(tenantId, mediaId));
    if (!file) throw new Error('no such media');
    return { body: Readable.from([file.body]), info: { ...file.info }, version: file.version };
  }

  async head(tenantId: string, mediaId: string): Promise<StoredMedia | undefined> {
    const file = this.files.get(mediaKeyOf(tenantId, mediaId));
    return file && { ...file.info };
  }
}
