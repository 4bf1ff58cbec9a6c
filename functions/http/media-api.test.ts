import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// The media routes over real HTTP: local API gateway → authorizer → handler → the stand-ins, as in
// production (no WEBHOOK_ALLOW_LOOPBACK: tenant URLs must be public).

let aws: TestAws;
let api: LocalApi;
let keyA: string;
let keyB: string;
let tenantA: string;
const file = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(30_000)]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const mediaId = randomUUID();

const get = (path: string, key: string) =>
  fetch(`${api.url}/whatsapp-qr${path}`, { headers: { authorization: `Bearer ${key}` }, redirect: 'manual' });

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  delete process.env.WEBHOOK_ALLOW_LOOPBACK;
  api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  const a = await createTenant({ tenants, clock: systemClock }, 'Tenant A');
  keyA = a.apiKey;
  tenantA = a.tenant.tenantId;
  keyB = (await createTenant({ tenants, clock: systemClock }, 'Tenant B')).apiKey;
  // As the runner stores an incoming file.
  await new S3MediaStore(aws.clients.s3, aws.env.AUTH_STATE_BUCKET as string).put(
    tenantA,
    mediaId,
    Readable.from([file]),
    { mimeType: 'application/pdf', fileName: 'invoice.pdf', size: file.length, sha256: sha256(file) },
  );
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

describe('GET /whatsapp-qr/media/{mediaId}', () => {
  it('redirects to a short-lived link that serves the file with the same sha256', async () => {
    const response = await get(`/media/${mediaId}`, keyA);
    expect(response.status).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const location = response.headers.get('location') as string;
    expect(location).toMatch(/X-Amz-Expires=300/);
    const download = await fetch(location);
    expect(download.status).toBe(200);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(file));
  });

  it('gives the link and the description as JSON with ?format=json', async () => {
    const response = await get(`/media/${mediaId}?format=json`, keyA);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      url: expect.stringContaining(`media/${tenantA}/${mediaId}`),
      mimeType: 'application/pdf',
      fileName: 'invoice.pdf',
      size: file.length,
      sha256: sha256(file),
    });
  });

  it("gives a tenant's upload the sha256 of its bytes and its file name, completed once and recorded on the file", async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(70_000)]);
    const reserved = await fetch(`${api.url}/whatsapp-qr/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mimeType: 'application/pdf', size: pdf.length, fileName: 'offer.pdf' }),
    });
    expect(reserved.status).toBe(201);
    const { mediaId: uploaded, uploadUrl } = (await reserved.json()) as {
      mediaId: string;
      uploadUrl: string;
    };
    const put = await fetch(uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf', 'content-length': String(pdf.length) },
      body: pdf,
    });
    expect(put.status).toBe(200);
    const stored = () =>
      aws.clients.s3.send(
        new HeadObjectCommand({
          Bucket: aws.env.AUTH_STATE_BUCKET as string,
          Key: `media/${tenantA}/${uploaded}`,
        }),
      );
    // A presigned PUT carries neither sha256 nor file name: nothing is recorded before the first ask.
    expect((await stored()).Metadata).toEqual({});

    const described = {
      mimeType: 'application/pdf',
      fileName: 'offer.pdf',
      size: pdf.length,
      sha256: sha256(pdf),
    };
    const first = await get(`/media/${uploaded}?format=json`, keyA);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject(described);
    const recorded = await stored();
    expect(recorded.Metadata).toEqual({ sha256: sha256(pdf), 'file-name': 'offer.pdf' });
    expect(recorded.ContentType).toBe('application/pdf');
    // A later ask answers what is recorded; the file itself is unchanged.
    const again = await get(`/media/${uploaded}?format=json`, keyA);
    expect(await again.json()).toMatchObject(described);
    const location = (await get(`/media/${uploaded}`, keyA)).headers.get('location') as string;
    // The link asks S3 to name the download (fauxqs ignores response-content-disposition).
    expect(decodeURIComponent(location)).toContain("filename*=UTF-8''offer.pdf");
    const download = await fetch(location);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(pdf));
  });

  it("answers 404 for another tenant's file and for an unknown id, 400 for a malformed one", async () => {
    const foreign = await get(`/media/${mediaId}`, keyB);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('MEDIA_NOT_FOUND');
    expect(foreign.headers.get('location')).toBeNull();
    expect((await get(`/media/${randomUUID()}`, keyA)).status).toBe(404);
    expect((await get('/media/not-a-uuid', keyA)).status).toBe(400);
  });
});

describe('POST /whatsapp-qr/send with a media url, in production mode', () => {
  it('answers 400 MEDIA_URL_NOT_PUBLIC with the reason for a private, loopback, metadata or unique-local address, and queues nothing', async () => {
    const table = (name: string) => new DynamoTable(aws.clients.dynamo, aws.env[name] as string);
    // Played as the runner: a connected session, its shard's lease held.
    await new DynamoLeaseStore(table('LEASES_TABLE')).acquire(0, 'test-runner', Date.now(), 3_600_000);
    const call = (path: string, body: unknown) =>
      fetch(`${api.url}/whatsapp-qr${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const { sessionId } = (await (await call('/init', { chatbotId: 'media-url-bot' })).json()) as {
      sessionId: string;
    };
    const now = new Date().toISOString();
    await new DynamoSessionStore(table('SESSIONS_TABLE')).transition(sessionId, {
      to: 'CONNECTED',
      fields: { phoneNumber: '4915100000001', connectedAt: now },
      now,
    });
    const commands = () => drainQueue(aws.clients.sqs, aws.env.COMMAND_QUEUE_URLS?.split(',')[0]);
    await commands();
    const cases = [
      ['https://10.0.0.7/photo.png', 'a private address'],
      ['https://192.168.1.20/photo.png', 'a private address'],
      ['https://169.254.169.254/latest/meta-data', 'the cloud metadata address'],
      ['https://[fd12::5]/photo.png', 'a unique-local address'],
      ['https://127.0.0.1:8443/photo.png', 'a loopback address'],
      ['https://[::1]/photo.png', 'a loopback address'],
      ['https://localhost/photo.png', 'a loopback address'],
    ];
    for (const [url, reason] of cases) {
      const res = await call('/send', {
        sessionId,
        to: '4915112345678',
        media: { url, mimeType: 'image/png' },
      });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect([url, res.status, body.error.code]).toEqual([url, 400, 'MEDIA_URL_NOT_PUBLIC']);
      expect(body.error.message, url).toContain(reason);
      expect(body.error.message, url).toContain('only public addresses are allowed');
    }
    // http:// is refused too, but for its scheme: only loopback may use it, and only locally.
    const plain = await call('/send', {
      sessionId,
      to: '4915112345678',
      media: { url: 'http://127.0.0.1/photo.png', mimeType: 'image/png' },
    });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe('MEDIA_URL_INVALID');
    expect(await commands()).toEqual([]);
    // The same session accepts a public address: the refusals above are the address's, not the session's.
    const fine = await call('/send', {
      sessionId,
      to: '4915112345678',
      media: { url: 'https://93.184.216.34/photo.png', mimeType: 'image/png' },
    });
    expect(fine.status).toBe(202);
    expect(await commands()).toHaveLength(1);
  });
});
