import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startS3Local } from '#local/stand-ins/s3-local.ts';
import type { MediaStore } from '../ports/media-store.ts';
import { InMemoryMediaStore } from '../testing/in-memory-media-store.ts';
import { createAwsClients } from './aws-clients.ts';
import { S3MediaStore } from './s3-media-store.ts';

// The same contract for the fake, S3 on fauxqs (the tests' stand-in) and S3 on s3rver (the local stack's).

const dir = mkdtempSync(join(tmpdir(), 's3rver-media-'));
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
  const bucket = `m${Math.random().toString(16).slice(2, 10)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { store: new S3MediaStore(client, bucket), client, bucket };
};

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const drain = async (body: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
};

/** A stream that hands out `bytes` in small chunks, as a download does. */
const chunked = (bytes: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
    })(),
  );

describe.each([
  ['in-memory fake', async () => ({ store: new InMemoryMediaStore() as MediaStore })],
  ['S3 on fauxqs', () => s3Store(inject('fauxqsEndpoint'))],
  ['S3 on s3rver', () => s3Store(s3rver.endpoint)],
])('media store contract: %s', (_name, make: () => Promise<{ store: MediaStore }>) => {
  it('stores a streamed file and describes it by tenant and id', async () => {
    const { store } = await make();
    const bytes = randomBytes(10_500);
    const id = randomUUID();
    const info = {
      mimeType: 'application/pdf',
      fileName: 'Rechnung März.pdf',
      size: bytes.length,
      sha256: sha256(bytes),
    };
    await store.put('tenant-a', id, chunked(bytes), info);
    expect(await store.head('tenant-a', id)).toEqual(info);
  });

  it('knows no file of another tenant under the same id, nor an unknown id', async () => {
    const { store } = await make();
    const id = randomUUID();
    const bytes = randomBytes(10);
    await store.put('tenant-a', id, chunked(bytes), {
      mimeType: 'image/png',
      size: 10,
      sha256: sha256(bytes),
    });
    expect(await store.head('tenant-b', id)).toBeUndefined();
    expect(await store.head('tenant-a', randomUUID())).toBeUndefined();
  });

  it('keeps the reservation of an upload for its tenant only', async () => {
    const { store } = await make();
    const id = randomUUID();
    const upload = { mimeType: 'application/pdf', fileName: 'Angebot Nr. 7 (März).pdf', size: 1234 };
    await store.reserve('tenant-a', id, upload);
    expect(await store.reservation('tenant-a', id)).toEqual(upload);
    expect(await store.reservation('tenant-b', id)).toBeUndefined();
    expect(await store.reservation('tenant-a', randomUUID())).toBeUndefined();
    // A reservation is not the file: nothing is uploaded yet.
    expect(await store.head('tenant-a', id)).toBeUndefined();
  });

  it('opens a stored file as a stream of its exact bytes, with its description and version', async () => {
    const { store } = await make();
    const id = randomUUID();
    const bytes = randomBytes(25_000);
    const info = { mimeType: 'audio/ogg', size: bytes.length, sha256: sha256(bytes) };
    await store.put('tenant-a', id, chunked(bytes), info);
    const opened = await store.open('tenant-a', id);
    expect(opened.info).toEqual(info);
    expect(opened.version).not.toBe('');
    expect(sha256(await drain(opened.body))).toBe(sha256(bytes));
    await expect(store.open('tenant-b', id)).rejects.toThrow();
    // Other bytes under the same id are another version.
    await store.put('tenant-a', id, chunked(randomBytes(100)), {
      mimeType: 'audio/ogg',
      size: 100,
      sha256: '',
    });
    expect((await store.open('tenant-a', id)).version).not.toBe(opened.version);
  });

  it("completes and records an upload's description: the sha256 of its bytes, its reservation's file name", async () => {
    const { store } = await make();
    const id = randomUUID();
    const bytes = randomBytes(30_500);
    const info = { mimeType: 'application/pdf', fileName: 'Angebot (März).pdf', size: bytes.length };
    await store.reserve('tenant-a', id, info);
    // As a presigned PUT stores it: the type and the bytes only.
    await store.put('tenant-a', id, chunked(bytes), {
      mimeType: info.mimeType,
      size: bytes.length,
      sha256: '',
    });
    expect(await store.head('tenant-a', id)).toEqual({
      mimeType: info.mimeType,
      size: bytes.length,
      sha256: '',
    });
    const complete = { ...info, sha256: sha256(bytes) };
    expect(await store.completeDescription('tenant-a', id)).toEqual(complete);
    expect(await store.head('tenant-a', id)).toEqual(complete);
    // The bytes are those of the file still.
    expect(sha256(await drain((await store.open('tenant-a', id)).body))).toBe(sha256(bytes));
    expect(await store.completeDescription('tenant-b', id)).toBeUndefined();
    expect(await store.completeDescription('tenant-a', randomUUID())).toBeUndefined();
  });

  it('records the sha256 a reader of the file gives, for the version it read only', async () => {
    const { store } = await make();
    const id = randomUUID();
    const bytes = randomBytes(20_000);
    const info = { mimeType: 'video/mp4', fileName: 'clip (März).mp4', size: bytes.length };
    await store.reserve('tenant-a', id, info);
    await store.put('tenant-a', id, chunked(bytes), {
      mimeType: info.mimeType,
      size: bytes.length,
      sha256: '',
    });
    const opened = await store.open('tenant-a', id);
    const hash = sha256(await drain(opened.body));
    // Another tenant's id, or an older version of the file, records nothing.
    expect(
      await store.completeDescription('tenant-b', id, { sha256: hash, version: opened.version }),
    ).toBeUndefined();
    expect(
      await store.completeDescription('tenant-a', id, { sha256: hash, version: '"stale"' }),
    ).toBeUndefined();
    expect((await store.head('tenant-a', id))?.sha256).toBe('');
    const complete = { ...info, sha256: hash };
    expect(
      await store.completeDescription('tenant-a', id, { sha256: hash, version: opened.version }),
    ).toEqual(complete);
    expect(await store.head('tenant-a', id)).toEqual(complete);
    expect(sha256(await drain((await store.open('tenant-a', id)).body))).toBe(hash);
  });

  it('records no sha256 for bytes replaced after they were read', async () => {
    const { store } = await make();
    const id = randomUUID();
    const first = randomBytes(5_000);
    await store.put('tenant-a', id, chunked(first), {
      mimeType: 'image/png',
      size: first.length,
      sha256: '',
    });
    const opened = await store.open('tenant-a', id);
    const hash = sha256(await drain(opened.body));
    const second = randomBytes(6_000);
    await store.put('tenant-a', id, chunked(second), {
      mimeType: 'image/png',
      size: second.length,
      sha256: '',
    });
    expect(
      await store.completeDescription('tenant-a', id, { sha256: hash, version: opened.version }),
    ).toBeUndefined();
    expect(await store.head('tenant-a', id)).toEqual({
      mimeType: 'image/png',
      size: second.length,
      sha256: '',
    });
  });

  it('stores nothing when the stream fails', async () => {
    const { store } = await make();
    const id = randomUUID();
    const failing = new Readable({
      read() {
        this.push(randomBytes(100));
        this.destroy(new Error('MAC mismatch'));
      },
    });
    await expect(
      store.put('tenant-a', id, failing, { mimeType: 'image/png', size: 5000, sha256: '' }),
    ).rejects.toThrow();
    expect(await store.head('tenant-a', id)).toBeUndefined();
  });
});

// Neither stand-in checks query signatures (a tampered one is served too): these prove the URL's
// shape, path style and encoding, not that AWS would accept the signature.
describe.each([
  ['S3 on fauxqs', () => s3Store(inject('fauxqsEndpoint'))],
  ['S3 on s3rver', () => s3Store(s3rver.endpoint)],
])('presigned links: %s', (_name, make: () => Promise<{ store: S3MediaStore }>) => {
  it('gives a URL that fetches the exact bytes, named by the file name, without credentials', async () => {
    const { store } = await make();
    const bytes = randomBytes(20_000);
    const id = randomUUID();
    const info = {
      mimeType: 'application/pdf',
      fileName: "Rechnung (März)'s.pdf",
      size: bytes.length,
      sha256: sha256(bytes),
    };
    await store.put('tenant-a', id, chunked(bytes), info);
    const url = await store.presignGet('tenant-a', id, 300, info.fileName);
    expect(url).toContain('X-Amz-Signature=');
    expect(url).toContain('X-Amz-Expires=300');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(bytes));
  });
});

describe.each([
  ['S3 on fauxqs', () => s3Store(inject('fauxqsEndpoint'))],
  ['S3 on s3rver', () => s3Store(s3rver.endpoint)],
])('presigned uploads: %s', (_name, make: () => Promise<{ store: S3MediaStore }>) => {
  it('gives a URL that a plain PUT with the declared type and length stores the file through', async () => {
    const { store } = await make();
    const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(30_000)]);
    const id = randomUUID();
    const url = await store.presignPut(
      'tenant-a',
      id,
      { mimeType: 'application/pdf', size: bytes.length },
      900,
    );
    const signed = new URL(url).searchParams;
    // The type and length are part of the signature: AWS refuses a PUT that sends others.
    expect(signed.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(signed.get('X-Amz-Expires')).toBe('900');
    expect(new URL(url).pathname).toMatch(new RegExp(`/media/tenant-a/${id}$`));
    const put = await fetch(url, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/pdf' },
    });
    expect(put.status).toBe(200);
    expect(await store.head('tenant-a', id)).toMatchObject({
      mimeType: 'application/pdf',
      size: bytes.length,
    });
  });
});

describe('S3 media store on s3rver', () => {
  it('keeps the bytes under media/<tenantId>/<mediaId>', async () => {
    const { store, client, bucket } = await s3Store(s3rver.endpoint);
    const bytes = randomBytes(3000);
    const id = randomUUID();
    await store.put('t1', id, chunked(bytes), {
      mimeType: 'image/jpeg',
      size: bytes.length,
      sha256: sha256(bytes),
    });
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `media/t1/${id}` }));
    expect(
      sha256(
        Buffer.from(
          await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        ),
      ),
    ).toBe(sha256(bytes));
  });
});
