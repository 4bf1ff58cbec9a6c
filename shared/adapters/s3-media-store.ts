import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { MEDIA_PREFIX, mediaKeyOf } from '../domain/media.ts';
import type { HashedMedia, MediaStore, MediaUpload, OpenedMedia, StoredMedia } from '../ports/media-store.ts';
import { guard } from './aws-errors.ts';

/**
 * Files under `media/<tenantId>/<mediaId>` of one bucket (the auth-state bucket: SSE-KMS with its
 * key in AWS, and a lifecycle rule on the prefix for `MEDIA_RETENTION_DAYS`). The description
 * travels as the object's content type and metadata, so a lookup is one HEAD.
 */
export class S3MediaStore implements MediaStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(tenantId: string, mediaId: string, body: Readable, info: StoredMedia): Promise<void> {
    // The SDK neither listens for a body's error nor ends the request on one: the upload would
    // hang and the error go uncaught. A failed stream aborts the request, so S3 stores nothing.
    const abort = new AbortController();
    let streamError: unknown;
    body.on('error', (error) => {
      streamError ??= error;
      abort.abort(error);
    });
    try {
      await this.send(tenantId, mediaId, body, info, abort.signal);
    } catch (error) {
      throw streamError ?? error;
    }
  }

  private async send(
    tenantId: string,
    mediaId: string,
    body: Readable,
    info: StoredMedia,
    signal: AbortSignal,
  ) {
    await guard('s3', () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: mediaKeyOf(tenantId, mediaId),
          // A stream of known length is sent as it comes: the file is never held whole.
          Body: body,
          ContentLength: info.size,
          ContentType: info.mimeType,
          Metadata: {
            sha256: info.sha256,
            // Metadata is ASCII only.
            ...(info.fileName && { 'file-name': encodeURIComponent(info.fileName) }),
          },
        }),
        { abortSignal: signal },
      ),
    );
  }

  /**
   * SigV4 query signing of the GET the client itself would send (its endpoint, path style and
   * region), short-circuited before signing and sending: no request leaves. The call recorder
   * still sees a GetObject of this component, which is right: S3 authorizes the URL's GET with the
   * signer's permissions.
   */
  async presignGet(
    tenantId: string,
    mediaId: string,
    expiresInSeconds: number,
    fileName?: string,
  ): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: mediaKeyOf(tenantId, mediaId),
      ...(fileName && { ResponseContentDisposition: `attachment; filename*=UTF-8''${rfc3986(fileName)}` }),
    });
    return this.presign(command, expiresInSeconds, {});
  }

  /** The type and length are signed headers: S3 refuses an upload that sends other values. */
  presignPut(
    tenantId: string,
    mediaId: string,
    upload: MediaUpload,
    expiresInSeconds: number,
  ): Promise<string> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: mediaKeyOf(tenantId, mediaId) });
    return this.presign(command, expiresInSeconds, {
      'content-type': upload.mimeType,
      'content-length': String(upload.size),
    });
  }

  /**
   * SigV4 query signing of the request the client itself would send (its endpoint, path style and
   * region), short-circuited before signing and sending: no request leaves. The call recorder
   * still sees the command of this component, which is right: S3 authorizes the URL's request with
   * the signer's permissions.
   */
  private async presign(
    command: GetObjectCommand | PutObjectCommand,
    expiresInSeconds: number,
    signedHeaders: Record<string, string>,
  ): Promise<string> {
    const config = this.s3.config;
    // Both commands have the same stack type up to their input and output, which the step ignores.
    (command as GetObjectCommand).middlewareStack.add(
      (() => async (args: { request: unknown }) => {
        const built = args.request as PresignableRequest;
        const signer = new SignatureV4({
          service: 's3',
          region: await config.region(),
          credentials: config.credentials,
          sha256: config.sha256,
          uriEscapePath: false,
          applyChecksum: false,
        });
        const host = built.port ? `${built.hostname}:${built.port}` : built.hostname;
        // Only the host and the given headers are signed: the SDK's own headers (user agent,
        // invocation id) would have to be sent by whoever follows the URL.
        const presigned = await signer.presign(
          {
            ...built,
            query: withoutChecksumQuery(built.query),
            headers: { host, ...signedHeaders },
            body: undefined,
          },
          { expiresIn: expiresInSeconds, signableHeaders: new Set(Object.keys(signedHeaders)) },
        );
        const query = Object.entries(presigned.query ?? {})
          .flatMap(([k, v]) =>
            v == null ? [] : (Array.isArray(v) ? v : [v]).map((x) => `${rfc3986(k)}=${rfc3986(x)}`),
          )
          .join('&');
        const url = `${built.protocol}//${host}${built.path}${query ? `?${query}` : ''}`;
        return { output: { $metadata: {}, presignedUrl: url }, response: {} };
      }) as never,
      { step: 'build', priority: 'low', name: 'presignObjectRequest' },
    );
    const out = (await this.s3.send(command as GetObjectCommand)) as unknown as { presignedUrl: string };
    return out.presignedUrl;
  }

  async reserve(tenantId: string, mediaId: string, upload: MediaUpload): Promise<void> {
    await guard('s3', () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: reservationKeyOf(tenantId, mediaId),
          Body: new Uint8Array(0),
          ContentLength: 0,
          ContentType: 'application/x-empty',
          Metadata: {
            'mime-type': encodeURIComponent(upload.mimeType),
            size: String(upload.size),
            ...(upload.fileName && { 'file-name': encodeURIComponent(upload.fileName) }),
          },
        }),
      ),
    );
  }

  async reservation(tenantId: string, mediaId: string): Promise<MediaUpload | undefined> {
    const out = await this.headObject(reservationKeyOf(tenantId, mediaId));
    if (!out) return undefined;
    const fileName = out.Metadata?.['file-name'];
    return {
      mimeType: decodeURIComponent(out.Metadata?.['mime-type'] ?? 'application/octet-stream'),
      ...(fileName && { fileName: decodeURIComponent(fileName) }),
      size: Number(out.Metadata?.size ?? 0),
    };
  }

  async open(tenantId: string, mediaId: string): Promise<OpenedMedia> {
    const out = await guard('s3', () =>
      this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: mediaKeyOf(tenantId, mediaId) })),
    );
    if (!out.Body) throw new Error('the media object has no body');
    return { body: out.Body as Readable, info: describe(out), version: out.ETag ?? '' };
  }

  /**
   * Without `hashed`: one GET streamed through the hash (and a HEAD of the reservation for the
   * file name). With it (the runner hashed the bytes it sent): one HEAD, nothing to read. Then a
   * copy of the object onto itself with both added to its metadata (S3 metadata cannot be changed
   * in place), on condition that it is still the object hashed (its ETag): a tenant who PUT other
   * bytes meanwhile gets them hashed on the next try, not the old hash. Later `head`s read them
   * with no extra call. The copy is a new version (the old one expires after a day, as any
   * replaced media) and restarts the file's retention clock.
   */
  async completeDescription(
    tenantId: string,
    mediaId: string,
    hashed?: HashedMedia,
  ): Promise<StoredMedia | undefined> {
    const key = mediaKeyOf(tenantId, mediaId);
    if (hashed) {
      const out = await this.headObject(key);
      if (!out || out.ETag !== hashed.version) return undefined;
      if (out.Metadata?.sha256) return describe(out);
      return this.record(tenantId, mediaId, out, hashed.sha256).catch((error: unknown) => {
        // Replaced since the caller read it: its hash is not this file's.
        if (statusOf(error) === 412) return undefined;
        throw error;
      });
    }
    for (let attempt = 1; ; attempt++) {
      const out = await this.getObject(key);
      if (!out?.Body) return undefined;
      const hash = createHash('sha256');
      for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
      try {
        return await this.record(tenantId, mediaId, out, hash.digest('hex'));
      } catch (error) {
        // Replaced between the GET and the copy: hash the new bytes (twice at most, then give up).
        if (statusOf(error) !== 412 || attempt >= 2) throw error;
      }
    }
  }

  /** Writes `sha256` and the file name (its own, else its reservation's) into the object `out` read. */
  private async record(tenantId: string, mediaId: string, out: ObjectHead, sha256: string) {
    const key = mediaKeyOf(tenantId, mediaId);
    const own = out.Metadata?.['file-name'];
    const fileName = own ? decodeURIComponent(own) : (await this.reservation(tenantId, mediaId))?.fileName;
    const stored: StoredMedia = { ...describe(out), ...(fileName && { fileName }), sha256 };
    await guard('s3', () =>
      this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: key,
          CopySource: `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
          ...(out.ETag && { CopySourceIfMatch: out.ETag }),
          // REPLACE rewrites every header: the type and the other metadata are given again.
          MetadataDirective: 'REPLACE',
          ContentType: out.ContentType,
          Metadata: {
            ...out.Metadata,
            sha256,
            ...(stored.fileName && { 'file-name': encodeURIComponent(stored.fileName) }),
          },
        }),
      ),
    );
    return stored;
  }

  private async getObject(key: string) {
    try {
      return await guard('s3', () => this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (error) {
      if (isMissing(error, key)) return undefined;
      throw error;
    }
  }

  async head(tenantId: string, mediaId: string): Promise<StoredMedia | undefined> {
    const out = await this.headObject(mediaKeyOf(tenantId, mediaId));
    return out && describe(out);
  }

  private async headObject(key: string) {
    try {
      return await guard('s3', () => this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (error) {
      if (isMissing(error, key)) return undefined;
      throw error;
    }
  }
}

/** What a GET or HEAD of a file says of it (its content type, length and metadata). */
interface ObjectHead {
  ContentType?: string | undefined;
  ContentLength?: number | undefined;
  ETag?: string | undefined;
  Metadata?: Record<string, string> | undefined;
}

/** The description a file's object carries (the sha256 is empty until it is completed). */
const describe = (out: ObjectHead): StoredMedia => {
  const fileName = out.Metadata?.['file-name'];
  return {
    mimeType: out.ContentType ?? 'application/octet-stream',
    ...(fileName && { fileName: decodeURIComponent(fileName) }),
    size: out.ContentLength ?? 0,
    sha256: out.Metadata?.sha256 ?? '',
  };
};

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** Whether S3's error for `key` means there is no such object. */
const isMissing = (error: unknown, key: string): boolean => {
  const name = (error as Error).name;
  if (error instanceof NotFound || name === 'NotFound' || name === 'NoSuchKey') return true;
  const status = statusOf(error);
  // Without s3:ListBucket (the API routes have none) S3 answers a missing key with 403, not
  // 404. The routes may read every key under media/, so there a 403 means: no such file.
  return status === 404 || (status === 403 && key.startsWith(MEDIA_PREFIX));
};

/** The reservation of an upload, beside the file (`.upload` cannot be part of a UUID mediaId). */
const reservationKeyOf = (tenantId: string, mediaId: string): string =>
  `${mediaKeyOf(tenantId, mediaId)}.upload`;

/** The SDK may add checksum parameters to a PUT's query; the uploader does not send them. */
const withoutChecksumQuery = (query: PresignableRequest['query']): PresignableRequest['query'] =>
  Object.fromEntries(
    Object.entries(query ?? {}).filter(([k]) => !k.toLowerCase().startsWith('x-amz-checksum')),
  );

interface PresignableRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  method: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

/** Percent-encoding as SigV4 canonicalizes it (encodeURIComponent leaves !'()* alone). */
const rfc3986 = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
