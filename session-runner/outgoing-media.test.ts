import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageMedia } from '#shared/domain/media.ts';
import { InMemoryMediaStore } from '#shared/testing/in-memory-media-store.ts';
import { contentOf, OutgoingMedia, OutgoingMediaError } from './outgoing-media.ts';

let server: Server;
let origin: string;
let hits = 0;
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    hits += 1;
    const route = routes.get(req.url ?? '');
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const serve = (path: string, type: string, body: Buffer) =>
  routes.set(path, (_req, res) => res.writeHead(200, { 'content-type': type }).end(body));
const drain = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
const streamOf = (content: object): Readable => {
  const media = Object.values(content).find((v) => v && typeof v === 'object' && 'stream' in v) as {
    stream: Readable;
  };
  return media.stream;
};
const byUrl = (url: string, mimeType: string): MessageMedia => ({
  mediaId: randomUUID(),
  url,
  mimeType,
  size: 0,
  sha256: '',
});
const failure = async (promise: Promise<unknown>): Promise<OutgoingMediaError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutgoingMediaError);
  return error as OutgoingMediaError;
};

describe('outgoing media: an uploaded file', () => {
  it('streams the tenant upload into a document with its file name and caption', async () => {
    const store = new InMemoryMediaStore();
    const pdf = randomBytes(50_000);
    const mediaId = randomUUID();
    await store.put('t1', mediaId, Readable.from([pdf]), {
      mimeType: 'application/pdf',
      size: pdf.length,
      sha256: '',
    });
    const prepared = await new OutgoingMedia({ store }).prepare('t1', {
      mediaId,
      mimeType: 'application/pdf',
      fileName: 'invoice.pdf',
      caption: 'Here',
      size: pdf.length,
      sha256: '',
    });
    expect(prepared.content).toMatchObject({
      mimetype: 'application/pdf',
      fileName: 'invoice.pdf',
      caption: 'Here',
    });
    expect(sha256(await drain(streamOf(prepared.content)))).toBe(sha256(pdf));
  });

  it("records the sha256 of the bytes it sent with a tenant's upload, which had none, once", async () => {
    const store = new InMemoryMediaStore();
    const video = randomBytes(200_000);
    const mediaId = randomUUID();
    await store.reserve('t1', mediaId, { mimeType: 'video/mp4', fileName: 'clip.mp4', size: video.length });
    // As a presigned PUT leaves it: bytes and type, no sha256.
    await store.put('t1', mediaId, Readable.from([video]), {
      mimeType: 'video/mp4',
      size: video.length,
      sha256: '',
    });
    const outgoing = new OutgoingMedia({ store });
    const complete = vi.spyOn(store, 'completeDescription');
    const media = { mediaId, mimeType: 'video/mp4', size: video.length, sha256: '' };
    const first = await outgoing.prepare('t1', media);
    expect(sha256(await drain(streamOf(first.content)))).toBe(sha256(video));
    await outgoing.settled();
    expect(await store.head('t1', mediaId)).toEqual({
      mimeType: 'video/mp4',
      fileName: 'clip.mp4',
      size: video.length,
      sha256: sha256(video),
    });
    // A file that has its sha256 is sent without another write.
    const second = await outgoing.prepare('t1', media);
    await drain(streamOf(second.content));
    await outgoing.settled();
    expect(complete).toHaveBeenCalledTimes(1);
  });

  it('records no sha256 for an upload it did not read to the end', async () => {
    const store = new InMemoryMediaStore();
    const mediaId = randomUUID();
    const image = randomBytes(5 * 1024 * 1024 + 1); // over the image cap: cut off
    await store.put('t1', mediaId, Readable.from([image.subarray(0, 65536), image.subarray(65536)]), {
      mimeType: 'image/jpeg',
      size: image.length,
      sha256: '',
    });
    const complete = vi.spyOn(store, 'completeDescription');
    const outgoing = new OutgoingMedia({ store });
    const media = { mediaId, mimeType: 'image/jpeg', size: image.length, sha256: '' };
    const cut = await outgoing.prepare('t1', media);
    expect(await drain(streamOf(cut.content)).catch((e: unknown) => e)).toMatchObject({
      code: 'MEDIA_TOO_LARGE',
    });
    const closed = await outgoing.prepare('t1', media);
    closed.close();
    await outgoing.settled();
    expect(complete).not.toHaveBeenCalled();
    expect((await store.head('t1', mediaId))?.sha256).toBe('');
  });

  it('records no sha256 when the body ended early without an error (a prefix of the file)', async () => {
    const store = new InMemoryMediaStore();
    const mediaId = randomUUID();
    const pdf = randomBytes(100_000);
    await store.put('t1', mediaId, Readable.from([pdf]), {
      mimeType: 'application/pdf',
      size: pdf.length,
      sha256: '',
    });
    const open = store.open.bind(store);
    // The store answers the file's description with only its first half, ending cleanly.
    vi.spyOn(store, 'open').mockImplementation(async (tenantId, id) => {
      const opened = await open(tenantId, id);
      opened.body.destroy();
      return { ...opened, body: Readable.from([pdf.subarray(0, 50_000)]) };
    });
    const complete = vi.spyOn(store, 'completeDescription');
    const outgoing = new OutgoingMedia({ store });
    const short = await outgoing.prepare('t1', {
      mediaId,
      mimeType: 'application/pdf',
      size: pdf.length,
      sha256: '',
    });
    expect((await drain(streamOf(short.content))).length).toBe(50_000);
    await outgoing.settled();
    expect(complete).not.toHaveBeenCalled();
    expect((await store.head('t1', mediaId))?.sha256).toBe('');
  });

  it('sends the file even when its sha256 cannot be recorded (the store refuses the write)', async () => {
    const store = new InMemoryMediaStore();
    const pdf = randomBytes(10_000);
    const mediaId = randomUUID();
    await store.put('t1', mediaId, Readable.from([pdf]), {
      mimeType: 'application/pdf',
      size: pdf.length,
      sha256: '',
    });
    vi.spyOn(store, 'completeDescription').mockRejectedValue(new Error('S3 unavailable'));
    const warnings: string[] = [];
    const outgoing = new OutgoingMedia({
      store,
      logger: { warn: (message: string) => warnings.push(message) },
    });
    const prepared = await outgoing.prepare('t1', {
      mediaId,
      mimeType: 'application/pdf',
      size: pdf.length,
      sha256: '',
    });
    expect(sha256(await drain(streamOf(prepared.content)))).toBe(sha256(pdf));
    await outgoing.settled();
    expect(warnings).toEqual(['sha256 of a sent upload not recorded']);
  });

  it('fails MEDIA_UNAVAILABLE (worth a retry) when the file cannot be read', async () => {
    const error = await failure(
      new OutgoingMedia({ store: new InMemoryMediaStore() }).prepare('t1', {
        mediaId: randomUUID(),
        mimeType: 'image/png',
        size: 1,
        sha256: '',
      }),
    );
    expect(error).toMatchObject({ code: 'MEDIA_UNAVAILABLE', transient: true });
  });

  it('fails MEDIA_UNAVAILABLE at once for a message that names neither a stored file nor a URL', async () => {
    const error = await failure(
      new OutgoingMedia({ store: new InMemoryMediaStore() }).prepare('t1', {
        mimeType: 'image/png',
        size: 1,
        sha256: '',
      }),
    );
    expect(error).toMatchObject({ code: 'MEDIA_UNAVAILABLE', transient: false });
  });
});

describe('outgoing media: a file by URL', () => {
  const local = () =>
    new OutgoingMedia({ store: new InMemoryMediaStore(), allowLoopback: true, timeoutMs: 2_000 });

  it('fetches from a loopback server when loopback is allowed (the local stack)', async () => {
    const png = randomBytes(30_000);
    serve('/p.png', 'image/png', png);
    const prepared = await local().prepare('t1', {
      ...byUrl(`${origin}/p.png`, 'image/png'),
      caption: 'lid',
    });
    expect(prepared.content).toMatchObject({ mimetype: 'image/png', caption: 'lid' });
    expect(sha256(await drain(streamOf(prepared.content)))).toBe(sha256(png));
  });

  it('refuses a name that resolves to a private or loopback address in production, without connecting', async () => {
    serve('/p.png', 'image/png', randomBytes(10));
    const before = hits;
    const port = new URL(origin).port;
    for (const address of ['10.0.0.5', '127.0.0.1']) {
      const production = new OutgoingMedia({
        store: new InMemoryMediaStore(),
        resolver: { resolve: async () => [{ address, family: 4 }] },
      });
      const error = await failure(
        production.prepare('t1', byUrl(`https://files.example.com:${port}/p.png`, 'image/png')),
      );
      expect(error).toMatchObject({ code: 'MEDIA_URL_NOT_PUBLIC', transient: false });
      expect(error.message).toContain(address);
    }
    expect(hits).toBe(before);
  });

  it('refuses a Content-Type other than the declared one', async () => {
    serve('/page', 'text/html; charset=utf-8', Buffer.from('<html>'));
    const error = await failure(local().prepare('t1', byUrl(`${origin}/page`, 'image/jpeg')));
    expect(error).toMatchObject({ code: 'MEDIA_TYPE_MISMATCH', transient: false });
  });

  it('fails a 404 for good and a 503 as worth a retry; a redirect is not followed', async () => {
    routes.set('/down', (_req, res) => res.writeHead(503).end());
    routes.set('/moved', (_req, res) => res.writeHead(302, { location: `${origin}/p.png` }).end());
    expect(await failure(local().prepare('t1', byUrl(`${origin}/none`, 'image/png')))).toMatchObject({
      code: 'MEDIA_URL_FAILED',
      transient: false,
    });
    expect(await failure(local().prepare('t1', byUrl(`${origin}/down`, 'image/png')))).toMatchObject({
      code: 'MEDIA_URL_FAILED',
      transient: true,
    });
    expect(await failure(local().prepare('t1', byUrl(`${origin}/moved`, 'image/png')))).toMatchObject({
      code: 'MEDIA_URL_FAILED',
    });
  });

  it('times out a server that does not answer', async () => {
    routes.set('/hang', () => undefined);
    const slow = new OutgoingMedia({ store: new InMemoryMediaStore(), allowLoopback: true, timeoutMs: 200 });
    expect(await failure(slow.prepare('t1', byUrl(`${origin}/hang`, 'image/png')))).toMatchObject({
      code: 'MEDIA_URL_TIMEOUT',
      transient: true,
    });
  });

  it('cuts the stream off past the size cap of the kind', async () => {
    serve('/big.jpg', 'image/jpeg', Buffer.alloc(5 * 1024 * 1024 + 1));
    const prepared = await local().prepare('t1', byUrl(`${origin}/big.jpg`, 'image/jpeg'));
    const error = await drain(streamOf(prepared.content)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MEDIA_TOO_LARGE' });
  });
});

describe('what Baileys is given', () => {
  it('sends OGG audio as a voice note, other audio as audio without a caption', () => {
    const stream = Readable.from([]);
    expect(contentOf('audio', { mimeType: 'audio/ogg; codecs=opus', caption: 'x' }, stream)).toEqual({
      audio: { stream },
      mimetype: 'audio/ogg; codecs=opus',
      ptt: true,
    });
    expect(contentOf('audio', { mimeType: 'audio/mpeg', caption: 'x' }, stream)).toEqual({
      audio: { stream },
      mimetype: 'audio/mpeg',
    });
    expect(contentOf('video', { mimeType: 'video/mp4', caption: 'x' }, stream)).toEqual({
      video: { stream },
      mimetype: 'video/mp4',
      caption: 'x',
    });
  });
});
