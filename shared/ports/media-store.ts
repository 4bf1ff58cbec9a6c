import type { Readable } from 'node:stream';

/** What is known of a stored file (sha256 of the plain bytes, hex). */
export interface StoredMedia {
  mimeType: string;
  fileName?: string;
  size: number;
  sha256: string;
}

/** The tenants' files (S3 under `media/<tenantId>/`, encrypted at rest). */
export interface MediaStore {
  /**
   * Streams a file in; `info.size` must be its exact length. Rejects, and stores nothing, when the
   * stream errors (a file that fails its integrity check is never stored).
   */
  put(tenantId: string, mediaId: string, body: Readable, info: StoredMedia): Promise<void>;
  /** The file's description, or undefined when the tenant has no such file. */
  head(tenantId: string, mediaId: string): Promise<StoredMedia | undefined>;
  /**
   * A URL that GETs the file for `expiresInSeconds` (makes no call: S3 checks the signature and
   * the signer's permissions when the URL is used); `fileName` becomes the download's name.
   */
  presignGet(tenantId: string, mediaId: string, expiresInSeconds: number, fileName?: string): Promise<string>;
  /**
   * Records that the tenant may upload `mediaId` (what `send` checks: the id is the tenant's even
   * before the bytes arrive). Kept beside the file, expired with it.
   */
  reserve(tenantId: string, mediaId: string, upload: MediaUpload): Promise<void>;
  /** The reservation of an upload, or undefined when the tenant never asked for this id. */
  reservation(tenantId: string, mediaId: string): Promise<MediaUpload | undefined>;
  /**
   * A URL that PUTs the file for `expiresInSeconds`, its content type and length bound into the
   * signature (a request with others is refused). Makes no call, like `presignGet`.
   */
  presignPut(
    tenantId: string,
    mediaId: string,
    upload: MediaUpload,
    expiresInSeconds: number,
  ): Promise<string>;
  /**
   * Completes the description of a tenant's upload, which arrives by presigned PUT with neither:
   * hashes the file's plain bytes (streamed, never held whole), takes the file name of its
   * reservation, and records both with the file, so this is done once. With `hashed`, the caller
   * already read the bytes of that version of the file (the runner, sending it): they are not read
   * again, and nothing is recorded unless the file is still that version. Answers the description,
   * or undefined when there is no such file (or, with `hashed`, no longer that version). Rejects
   * when the store is down.
   */
  completeDescription(
    tenantId: string,
    mediaId: string,
    hashed?: HashedMedia,
  ): Promise<StoredMedia | undefined>;
  /** The file's bytes as a stream (never read whole); rejects when there is no such file. */
  open(tenantId: string, mediaId: string): Promise<OpenedMedia>;
}

/** A stored file opened for reading: its bytes, its description, and which version they are. */
export interface OpenedMedia {
  body: Readable;
  info: StoredMedia;
  /** The stored version read (S3's ETag): a later change of the file makes another. */
  version: string;
}

/** The sha256 of a file's plain bytes as a caller read them, and the version it read. */
export interface HashedMedia {
  sha256: string;
  version: string;
}

/** A file a tenant announced for upload (`POST /whatsapp-qr/media`). */
export interface MediaUpload {
  mimeType: string;
  fileName?: string;
  size: number;
}
