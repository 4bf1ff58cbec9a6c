import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// GET /whatsapp-qr/media/{mediaId} over real HTTP: local API gateway → authorizer → handler → S3 stand-in.

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

  it("answers 404 for another tenant's file and for an unknown id, 400 for a malformed one", async () => {
    const foreign = await get(`/media/${mediaId}`, keyB);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('MEDIA_NOT_FOUND');
    expect(foreign.headers.get('location')).toBeNull();
    expect((await get(`/media/${randomUUID()}`, keyA)).status).toBe(404);
    expect((await get('/media/not-a-uuid', keyA)).status).toBe(400);
  });
});
