import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3MediaStore } from './s3-media-store.ts';

// What the stand-ins never answer: S3's 403 for a missing key when the caller may not list the bucket.

const failingWith = (status: number, name: string): S3Client =>
  ({
    send: async () => {
      throw Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    },
  }) as unknown as S3Client;

describe('S3 media store lookups in AWS', () => {
  it("takes S3's 403 for a missing key under media/ (no s3:ListBucket) as no file, not as an error", async () => {
    const store = new S3MediaStore(failingWith(403, 'Forbidden'), 'bucket');
    await expect(store.head('t1', 'a8f5f167-0000-4000-8000-000000000000')).resolves.toBeUndefined();
    await expect(store.reservation('t1', 'a8f5f167-0000-4000-8000-000000000000')).resolves.toBeUndefined();
  });

  it('still fails on other errors', async () => {
    const store = new S3MediaStore(failingWith(400, 'BadRequest'), 'bucket');
    await expect(store.head('t1', 'a8f5f167-0000-4000-8000-000000000000')).rejects.toThrow('BadRequest');
  });
});
