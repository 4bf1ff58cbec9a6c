import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './testing/e2e-stack.ts';
import { type SharedE2eStack, sharedE2eStack } from './testing/shared-e2e-stack.ts';

// Outgoing media on the local stack (`npm start` with WHATSAPP=simulator): the tenant uploads a
// PDF through its presigned PUT and sends it, or sends a file by URL from a loopback server; the
// simulator's contact decrypts what it got and its inbox shows the same sha256 and file name.
// On the run's shared stack, as a tenant of its own.

let stack: SharedE2eStack;
let api: string;
let sim: string;
let key: string;
let sessionId: string;
let files: Server;
let filesUrl: string;
const PHONE = '4915100000777';
const CONTACT = '4915177777111';
const served = new Map<string, { type: string; body: Buffer }>();

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON
const json = async (path: string, init: RequestInit = {}): Promise<any> => {
  const res = await fetch(`${api}/whatsapp-qr${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  return { ...(text ? (JSON.parse(text) as object) : {}), code: res.status };
};
const post = (path: string, body: unknown) => json(path, { method: 'POST', body: JSON.stringify(body) });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** The message as its conversation lists it (with `media`), once it is no longer QUEUED. */
const listedMessage = (messageId: string) =>
  waitFor(`message ${messageId} sent in its conversation`, async () => {
    const conversations = await json(`/conversations?sessionId=${sessionId}`);
    for (const { conversationId } of conversations.items ?? []) {
      const page = await json(`/conversations/${conversationId}/messages?limit=100`);
      // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON
      const found = page.items?.find((m: any) => m.messageId === messageId);
      if (found && found.status !== 'QUEUED') return found;
    }
    return undefined;
  });
type InboxEntry = { id: string; text?: string; media?: Record<string, unknown> };
const inbox = async (): Promise<InboxEntry[]> =>
  (await (await fetch(`${sim}/contacts/${CONTACT}/inbox`)).json()) as InboxEntry[];
/** Every file s3rver holds under this tenant's `media/<tenantId>/`: what an upload or reservation adds. */
const storedMediaFiles = (): number => {
  const root = join(stack.dataDir, 's3');
  let count = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else count += 1;
    }
  };
  for (const bucket of existsSync(root) ? readdirSync(root) : [])
    walk(join(root, bucket, 'media', stack.tenantId));
  return count;
};

beforeAll(async () => {
  stack = await sharedE2eStack('media-send-e2e');
  ({ api, sim, key } = stack);
  files = createServer((req, res) => {
    const file = served.get(req.url ?? '');
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length }).end(file.body);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;

  const init = await post('/init', { chatbotId: 'media-out-shop' });
  expect(init.code).toBe(201);
  sessionId = init.sessionId;
  const qr = await waitFor('the QR', async () => {
    const res = await json(`/qr-code/${sessionId}`);
    return res.code === 200 ? (res.qr as string) : undefined;
  });
  const scan = await fetch(`${sim}/phones/${PHONE}/scan`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ qr }),
  });
  expect(scan.status).toBe(200);
  await waitFor('CONNECTED', async () => (await json(`/status/${sessionId}`)).status === 'CONNECTED');
}, 180_000);

afterAll(async () => {
  files?.closeAllConnections();
  await new Promise((r) => (files ? files.close(r) : r(undefined)));
  await stack?.release();
}, 60_000);

describe('outgoing media on the local stack with the simulator', () => {
  it('sends an uploaded PDF that the contact receives with the same sha256 and file name', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(60_000)]);
    const upload = await post('/media', {
      mimeType: 'application/pdf',
      fileName: 'invoice-42.pdf',
      size: pdf.length,
    });
    expect(upload.code).toBe(201);
    expect(Date.parse(upload.expiresAt)).toBeGreaterThan(Date.now());

    // Before the bytes are there, the id is the tenant's but cannot be sent.
    const early = await post('/send', { sessionId, to: CONTACT, media: { mediaId: upload.mediaId } });
    expect(early).toMatchObject({ code: 400, error: { code: 'MEDIA_NOT_UPLOADED' } });

    const put = await fetch(upload.uploadUrl, {
      method: 'PUT',
      body: pdf,
      headers: { 'content-type': 'application/pdf' },
    });
    expect(put.status).toBe(200);
    // The upload's description: the sha256 of the bytes PUT and the reserved name (completed on
    // this first ask, then kept).
    const described = await json(`/media/${upload.mediaId}?format=json`);
    expect(described).toMatchObject({
      code: 200,
      mimeType: 'application/pdf',
      fileName: 'invoice-42.pdf',
      size: pdf.length,
      sha256: sha256(pdf),
    });

    const sent = await post('/send', {
      sessionId,
      to: CONTACT,
      media: { mediaId: upload.mediaId, caption: 'Your invoice' },
    });
    expect(sent).toMatchObject({ code: 202, status: 'QUEUED' });
    const entry = await waitFor('the PDF in the inbox', async () =>
      (await inbox()).find((m) => m.media?.mimeType === 'application/pdf'),
    );
    expect(entry.media).toMatchObject({
      fileName: 'invoice-42.pdf',
      size: pdf.length,
      sha256: sha256(pdf),
      caption: 'Your invoice',
    });
    const status = await waitFor('SENT', async () => {
      const m = await json(`/messages/${sent.messageId}`);
      return m.status !== 'QUEUED' && m;
    });
    expect(['SENT', 'DELIVERED', 'READ']).toContain(status.status);
    // The size and sha256 WhatsApp was sent are recorded on the message (the upload's were unknown).
    expect((await listedMessage(sent.messageId)).media).toMatchObject({
      mediaId: upload.mediaId,
      fileName: 'invoice-42.pdf',
      size: pdf.length,
      sha256: sha256(pdf),
    });
  });

  it('sends an uploaded OGG/Opus file as a voice note', async () => {
    const voice = Buffer.concat([Buffer.from('OggS\0\x02', 'binary'), randomBytes(3_000)]);
    const upload = await post('/media', { mimeType: 'audio/ogg; codecs=opus', size: voice.length });
    expect(upload.code).toBe(201);
    const put = await fetch(upload.uploadUrl, {
      method: 'PUT',
      body: voice,
      headers: { 'content-type': 'audio/ogg; codecs=opus' },
    });
    expect(put.status).toBe(200);
    const sent = await post('/send', { sessionId, to: CONTACT, media: { mediaId: upload.mediaId } });
    expect(sent.code).toBe(202);
    const entry = await waitFor('the voice note in the inbox', async () =>
      (await inbox()).find((m) => String(m.media?.mimeType).startsWith('audio/ogg')),
    );
    expect(entry.media).toMatchObject({ size: voice.length, sha256: sha256(voice) });
    const stored = await json(`/messages/${sent.messageId}`);
    expect(stored.status).not.toBe('FAILED');
    expect((await json(`/media/${upload.mediaId}?format=json`)).sha256).toBe(sha256(voice));
  });

  it('sends a file by URL from a loopback server (allowed on the local stack only)', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(20_000)]);
    served.set('/photo.png', { type: 'image/png', body: png });
    const sent = await post('/send', {
      sessionId,
      to: CONTACT,
      media: { url: `${filesUrl}/photo.png`, mimeType: 'image/png', caption: 'the new lid' },
    });
    expect(sent.code).toBe(202);
    const entry = await waitFor('the image in the inbox', async () =>
      (await inbox()).find((m) => m.media?.mimeType === 'image/png'),
    );
    expect(entry.media).toMatchObject({ size: png.length, sha256: sha256(png), caption: 'the new lid' });
    // No copy is kept of a file sent by URL: no mediaId; its real size and sha256 are recorded.
    const listed = await listedMessage(sent.messageId);
    expect(listed.media).toMatchObject({
      url: `${filesUrl}/photo.png`,
      size: png.length,
      sha256: sha256(png),
    });
    expect(listed.media.mediaId).toBeUndefined();
  });

  it('fails the message with a reason when the URL serves another type than declared', async () => {
    served.set('/not-a-photo', { type: 'text/html', body: Buffer.from('<html></html>') });
    const sent = await post('/send', {
      sessionId,
      to: CONTACT,
      media: { url: `${filesUrl}/not-a-photo`, mimeType: 'image/jpeg' },
    });
    expect(sent.code).toBe(202);
    const failed = await waitFor('FAILED', async () => {
      const m = await json(`/messages/${sent.messageId}`);
      return m.status !== 'QUEUED' && m;
    });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'MEDIA_TYPE_MISMATCH' });
  });

  it('answers 400 for an unsupported type or an oversize file and stores nothing', async () => {
    const before = storedMediaFiles();
    const gif = await post('/media', { mimeType: 'image/gif', size: 1000 });
    expect(gif).toMatchObject({ code: 400, error: { code: 'UNSUPPORTED_MEDIA' } });
    expect(gif.error.message).toContain('JPEG, PNG or WebP');
    const huge = await post('/media', { mimeType: 'image/jpeg', size: 5 * 1024 * 1024 + 1 });
    expect(huge).toMatchObject({ code: 400, error: { code: 'MEDIA_TOO_LARGE' } });
    const video = await post('/media', { mimeType: 'video/mp4', size: 16 * 1024 * 1024 + 1 });
    expect(video).toMatchObject({ code: 400, error: { code: 'MEDIA_TOO_LARGE' } });
    expect(storedMediaFiles()).toBe(before);
    // The same rules for a send by URL, before anything is queued.
    const byUrl = await post('/send', {
      sessionId,
      to: CONTACT,
      media: { url: `${filesUrl}/x.webm`, mimeType: 'video/webm' },
    });
    expect(byUrl).toMatchObject({ code: 400, error: { code: 'UNSUPPORTED_MEDIA' } });
  });

  it('answers 404 for a mediaId the tenant never reserved, and 400 for a send with two sources', async () => {
    const unknown = await post('/send', {
      sessionId,
      to: CONTACT,
      media: { mediaId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(unknown).toMatchObject({ code: 404, error: { code: 'MEDIA_NOT_FOUND' } });
    const both = await post('/send', {
      sessionId,
      to: CONTACT,
      media: { mediaId: '00000000-0000-4000-8000-000000000000', url: `${filesUrl}/a.pdf` },
    });
    expect(both).toMatchObject({ code: 400, error: { code: 'VALIDATION_FAILED' } });
  });
});
