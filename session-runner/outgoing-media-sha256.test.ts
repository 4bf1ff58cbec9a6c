import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { createMediaUpload, getMediaLink } from '#shared/use-cases/media.ts';
import { OutgoingMedia } from './outgoing-media.ts';

// A tenant's upload, PUT through its presigned URL to S3 (fauxqs) with neither sha256 nor file
// name, sent by the runner: the bytes it streams to WhatsApp give the file its description, so
// the API's first GET /media/{id} reads nothing to hash.

const s3 = createAwsClients({ S3_ENDPOINT: inject('fauxqsEndpoint') }).s3;
afterAll(() => s3.destroy());

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const drain = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

describe('the sha256 of an upload the runner sends', () => {
  it('is recorded on the file in S3 with its reserved name, and GET /media then hashes nothing', async () => {
    const bucket = `m${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const store = new S3MediaStore(s3, bucket);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(300_000)]);
    const upload = await createMediaUpload({ media: store, clock: systemClock }, 't1', {
      mimeType: 'application/pdf',
      fileName: 'Angebot (März).pdf',
      size: pdf.length,
    });
    const put = await fetch(upload.uploadUrl, {
      method: 'PUT',
      body: pdf,
      headers: { 'content-type': 'application/pdf' },
    });
    expect(put.status).toBe(200);
    expect((await store.head('t1', upload.mediaId))?.sha256).toBe('');

    const outgoing = new OutgoingMedia({ store });
    const prepared = await outgoing.prepare('t1', {
      mediaId: upload.mediaId,
      mimeType: 'application/pdf',
      size: pdf.length,
      sha256: '',
    });
    const content = prepared.content as { document: { stream: Readable } };
    expect(sha256(await drain(content.document.stream))).toBe(sha256(pdf));
    await outgoing.settled();

    const described = {
      mimeType: 'application/pdf',
      fileName: 'Angebot (März).pdf',
      size: pdf.length,
      sha256: sha256(pdf),
    };
    expect(await store.head('t1', upload.mediaId)).toEqual(described);
    const complete = vi.spyOn(store, 'completeDescription');
    expect(await getMediaLink({ media: store }, 't1', upload.mediaId)).toMatchObject(described);
    expect(complete).not.toHaveBeenCalled();
  });
});
