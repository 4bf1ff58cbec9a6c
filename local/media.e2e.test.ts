import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './testing/e2e-stack.ts';
import { type SharedE2eStack, sharedE2eStack } from './testing/shared-e2e-stack.ts';

// Incoming media on the local stack (`npm start` with WHATSAPP=simulator): a contact's image and
// voice note reach the tenant's conversation with their sha256, and GET /media/{id} serves both.
// On the run's shared stack, as a tenant of its own.

let stack: SharedE2eStack;
let api: string;
let sim: string;
let key: string;
const PHONE = '4915100000889';
const CONTACT = '4915177777888';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON
const json = async (path: string, init: RequestInit = {}): Promise<any> => {
  const res = await fetch(`${api}/whatsapp-qr${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
  });
  return { ...((await res.json()) as object), code: res.status };
};
const simPost = (path: string, body: unknown) =>
  fetch(`${sim}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  stack = await sharedE2eStack('media-e2e');
  ({ api, sim, key } = stack);
}, 120_000);

afterAll(() => stack?.release());

describe('incoming media on the local stack with the simulator', () => {
  it('stores a contact image and voice note under the tenant and lists them with the same sha256', async () => {
    const init = await json('/init', { method: 'POST', body: JSON.stringify({ chatbotId: 'media-shop' }) });
    expect(init.code).toBe(201);
    const qr = await waitFor('the QR', async () => {
      const res = await json(`/qr-code/${init.sessionId}`);
      return res.code === 200 ? (res.qr as string) : undefined;
    });
    expect((await simPost(`/phones/${PHONE}/scan`, { qr })).status).toBe(200);
    await waitFor('CONNECTED', async () => (await json(`/status/${init.sessionId}`)).status === 'CONNECTED');

    const photo = randomBytes(40_000);
    // A tiny OGG/Opus voice note: the stack never decodes it, only the bytes matter.
    const voice = Buffer.concat([Buffer.from('OggS\0\x02', 'binary'), randomBytes(600)]);
    const sent = [
      { base64: photo.toString('base64'), mimeType: 'image/jpeg', caption: 'broken lid' },
      { base64: voice.toString('base64'), mimeType: 'audio/ogg; codecs=opus' },
    ];
    for (const media of sent) {
      expect((await simPost(`/contacts/${CONTACT}/send`, { to: PHONE, media })).status).toBe(200);
    }

    const conversation = await waitFor('the conversation', async () => {
      const list = await json(`/conversations?sessionId=${init.sessionId}`);
      return list.items?.[0]?.conversationId as string | undefined;
    });
    const items = await waitFor('both messages', async () => {
      const page = await json(`/conversations/${conversation}/messages`);
      return page.items?.length >= 2 && page.items;
    });
    // Both arrive within one second (WhatsApp's timestamps are seconds): listed in either order.
    type Item = { text: string; media: Record<string, unknown> };
    const byText = (text: string) => (items as Item[]).find((m) => m.text === text)?.media;
    type Media = Record<string, unknown>;
    const image = byText('[image: broken lid]') as Media;
    const note = byText('[voice note]') as Media;
    expect(image).toMatchObject({
      mimeType: 'image/jpeg',
      size: photo.length,
      sha256: sha256(photo),
      caption: 'broken lid',
    });
    expect(note).toMatchObject({
      mimeType: 'audio/ogg; codecs=opus',
      size: voice.length,
      sha256: sha256(voice),
    });
    for (const [media, bytes] of [
      [image, photo],
      [note, voice],
    ] as const) {
      expect(media.error).toBeUndefined();
      // The tenant's way to the file: a 302 to a short-lived presigned GET.
      const redirect = await fetch(`${api}/whatsapp-qr/media/${media.mediaId}`, {
        headers: { authorization: `Bearer ${key}` },
        redirect: 'manual',
      });
      expect(redirect.status).toBe(302);
      const file = await fetch(redirect.headers.get('location') as string);
      expect(file.status).toBe(200);
      expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(sha256(bytes));
      // Stored under the tenant's prefix, described as the conversation shows it.
      const link = await json(`/media/${media.mediaId}?format=json`);
      expect(link).toMatchObject({
        code: 200,
        size: bytes.length,
        sha256: sha256(bytes),
        mimeType: media.mimeType,
      });
      expect(link.url).toMatch(new RegExp(`/media/[^/?]+/${media.mediaId}\\?`));
    }
  });
});
