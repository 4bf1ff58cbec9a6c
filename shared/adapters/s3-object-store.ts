import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectStore } from '../ports/object-store.ts';
import { guard } from './aws-errors.ts';

/** Objects in one bucket; encryption at rest is the bucket's default (KMS in AWS). */
export class S3ObjectStore implements ObjectStore {
  /** Counts requests by kind, for the benchmarks (S3 requests per message). */
  readonly requests = { put: 0, get: 0, list: 0, delete: 0 };

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Buffer): Promise<void> {
    this.requests.put++;
    await guard('s3', () =>
      this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body })),
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.requests.get++;
    try {
      const out = await guard('s3', () =>
        this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })),
      );
      return out.Body ? Buffer.from(await out.Body.transformToByteArray()) : undefined;
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      this.requests.list++;
      const out = await guard('s3', () =>
        this.s3.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      keys.push(...(out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      this.requests.delete++;
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      await guard('s3', () =>
        this.s3.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }),
        ),
      );
    }
  }
}
