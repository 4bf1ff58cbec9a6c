import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startS3Local } from '#local/stand-ins/s3-local.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { InMemoryObjectStore } from '../testing/in-memory-object-store.ts';
import { createAwsClients } from './aws-clients.ts';
import { S3ObjectStore } from './s3-object-store.ts';

// The same contract for the fake, S3 on fauxqs (the tests' stand-in) and S3 on s3rver (the local
// stack's file-backed stand-in), through the clients the product builds.

const dir = mkdtempSync(join(tmpdir(), 's3rver-'));
let s3rver: Awaited<ReturnType<typeof startS3Local>>;
const clients: S3Client[] = [];

beforeAll(async () => {
  s3rver = await startS3Local({ directory: dir, buckets: ['contract'] });
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await s3rver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const s3Store = async (endpoint: string) => {
  const client = createAwsClients({ S3_ENDPOINT: endpoint }).s3;
  clients.push(client);
  const bucket = `b${Math.random().toString(16).slice(2, 10)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return new S3ObjectStore(client, bucket);
};

describe.each([
  ['in-memory fake', async () => new InMemoryObjectStore()],
  ['S3 on fauxqs', () => s3Store(inject('fauxqsEndpoint'))],
  ['S3 on s3rver', () => s3Store(s3rver.endpoint)],
])('object store contract: %s', (_name, make: () => Promise<ObjectStore>) => {
  let store: ObjectStore;
  beforeAll(async () => {
    store = await make();
  });

  it('stores and reads back bytes exactly, including large bodies', async () => {
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 256));
    await store.put('s/a/journal-1', body);
    expect((await store.get('s/a/journal-1'))?.equals(body)).toBe(true);
    expect(await store.get('s/a/missing')).toBeUndefined();
  });

  it('lists a prefix in order and deletes many keys at once', async () => {
    for (const k of ['p/2', 'p/1', 'p/10', 'q/1']) await store.put(k, Buffer.from(k));
    expect(await store.list('p/')).toEqual(['p/1', 'p/10', 'p/2']);
    await store.delete(['p/1', 'p/2', 'p/never']);
    expect(await store.list('p/')).toEqual(['p/10']);
    expect(await store.list('q/')).toEqual(['q/1']);
  });
});
