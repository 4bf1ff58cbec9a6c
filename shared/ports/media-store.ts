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
}
