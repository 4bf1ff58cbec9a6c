import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from './aws-clients.ts';
import { S3MediaStore } from './s3-media-store.ts';

// Neither S3 stand-in checks presigned signatures (s3rver stores a PUT with another type, another
// length, or a forged signature alike). This endpoint does what S3 does with a presigned URL: it
// canonicalizes the request it received, with the values of the headers the URL names as signed,
// signs that with the same key and date, and refuses (403) when the signatures differ. So these
// tests show that our upload URL binds the type and the length; not that AWS runs this code.

let server: Server;
let client: S3Client;
let store: S3MediaStore;

/** S3's check of a SigV4 query signature, on the request as it arrived. */
const verify = async (
  req: IncomingMessage,
  credentials: { accessKeyId: string; secretAccessKey: string },
) => {
  const url = new URL(req.url ?? '/', 'http://placeholder');
  const given = url.searchParams.get('X-Amz-Signature');
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  const signed = (url.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
  const expires = Number(url.searchParams.get('X-Amz-Expires'));
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!k.startsWith('X-Amz-')) query[k] = v;
  const headers: Record<string, string> = {};
  for (const name of signed) headers[name] = String(req.headers[name] ?? '');
  const date = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`,
  );
  const signer = new SignatureV4({
    service: 's3',
    region: await client.config.region(),
    credentials,
    sha256: client.config.sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const expected = await signer.presign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: url.pathname,
      query,
      headers,
    },
    { signingDate: date, expiresIn: expires, signableHeaders: new Set(signed.filter((h) => h !== 'host')) },
  );
  return given !== null && expected.query?.['X-Amz-Signature'] === given;
};

beforeAll(async () => {
  server = createServer((req, res) => {
    void (async () => {
      for await (const _chunk of req); // drained only: the signature covers the headers, not the bytes
      const ok = await verify(req, await client.config.credentials());
      res.writeHead(ok ? 200 : 403).end(ok ? '' : 'SignatureDoesNotMatch');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = createAwsClients({ S3_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }).s3;
  store = new S3MediaStore(client, 'media-bucket');
});
afterAll(async () => {
  client?.destroy();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

describe('a presigned upload URL, checked as S3 checks its signature', () => {
  const put = (url: string, body: Buffer, type: string) =>
    fetch(url, { method: 'PUT', body, headers: { 'content-type': type } });

  it('is accepted for the declared type and length, and refused for another type or length', async () => {
    const body = randomBytes(2048);
    const url = await store.presignPut(
      't1',
      randomUUID(),
      { mimeType: 'application/pdf', size: body.length },
      900,
    );
    expect((await put(url, body, 'application/pdf')).status).toBe(200);
    expect((await put(url, body, 'text/html')).status).toBe(403);
    expect((await put(url, Buffer.concat([body, Buffer.from('x')]), 'application/pdf')).status).toBe(403);
    expect((await put(url, body.subarray(1), 'application/pdf')).status).toBe(403);
  });

  it('is refused with a tampered signature or for another key', async () => {
    const body = randomBytes(100);
    const url = await store.presignPut('t1', randomUUID(), { mimeType: 'image/png', size: body.length }, 900);
    const forged = url.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
    );
    expect((await put(forged, body, 'image/png')).status).toBe(403);
    const elsewhere = url.replace('/media/t1/', '/media/t2/');
    expect((await put(elsewhere, body, 'image/png')).status).toBe(403);
  });
});
