import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SendCommand } from '../contracts/commands.ts';
import { SendMessageBody } from '../contracts/http.ts';
import { MediaUploadBody, MediaUploadResponse } from '../contracts/media.ts';
import { fakeGatewayDeps } from '../testing/fakes.ts';
import { InMemoryMediaStore } from '../testing/in-memory-media-store.ts';
import { createMediaUpload, MEDIA_UPLOAD_SECONDS, mediaUrlProblem } from './media.ts';
import { sendMessage } from './messages.ts';
import { initSession } from './sessions.ts';

const clock = { now: () => new Date('2026-01-01T12:00:00.000Z') };

describe('createMediaUpload', () => {
  it('reserves an id under the tenant and signs a PUT of the declared type and size', async () => {
    const media = new InMemoryMediaStore();
    const out = await createMediaUpload({ media, clock }, 't1', {
      mimeType: 'application/pdf',
      fileName: 'a.pdf',
      size: 1234,
    });
    expect(MediaUploadResponse.safeParse(out).success).toBe(true);
    expect(out.expiresAt).toBe('2026-01-01T12:15:00.000Z');
    const signed = new URL(out.uploadUrl);
    expect(signed.pathname).toBe(`/media/t1/${out.mediaId}`);
    expect(Object.fromEntries(signed.searchParams)).toEqual({
      type: 'application/pdf',
      length: '1234',
      expires: String(MEDIA_UPLOAD_SECONDS),
    });
    expect(await media.reservation('t1', out.mediaId)).toEqual({
      mimeType: 'application/pdf',
      fileName: 'a.pdf',
      size: 1234,
    });
  });

  it.each([
    [{ mimeType: 'image/gif', size: 10 }, 'UNSUPPORTED_MEDIA'],
    [{ mimeType: 'image/png', size: 5 * 1024 * 1024 + 1 }, 'MEDIA_TOO_LARGE'],
  ])('refuses %j with 400 %s and stores nothing', async (input, code) => {
    const media = new InMemoryMediaStore();
    await expect(createMediaUpload({ media, clock }, 't1', input)).rejects.toMatchObject({
      kind: 'invalid',
      code,
    });
    expect(media.reservations.size).toBe(0);
  });
});

describe('mediaUrlProblem (the API side of a send by URL)', () => {
  it.each([
    'https://10.0.0.5/a.pdf',
    'https://192.168.1.2/a.pdf',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/a.pdf',
    'https://127.0.0.1/a.pdf',
    'https://localhost/a.pdf',
  ])('refuses %s in production as not public', (url) => {
    expect(mediaUrlProblem(url, false)?.code).toBe('MEDIA_URL_NOT_PUBLIC');
  });

  it.each([
    'http://example.com/a.pdf',
    'ftp://example.com/a.pdf',
    'https://user:pw@example.com/a.pdf',
    'not a url',
  ])('refuses %s as invalid', (url) => {
    expect(mediaUrlProblem(url, false)?.code).toBe('MEDIA_URL_INVALID');
  });

  it('takes a public https URL, and loopback (http too) on the local stack only', () => {
    expect(mediaUrlProblem('https://cdn.example.com/a.pdf', false)).toBeUndefined();
    expect(mediaUrlProblem('https://93.184.216.34/a.pdf', false)).toBeUndefined();
    expect(mediaUrlProblem('http://127.0.0.1:8080/a.pdf', true)).toBeUndefined();
    expect(mediaUrlProblem('http://127.0.0.1:8080/a.pdf', false)?.code).toBe('MEDIA_URL_INVALID');
    expect(mediaUrlProblem('https://127.0.0.1:8080/a.pdf', true)).toBeUndefined();
    // Loopback mode is not a way to private networks.
    expect(mediaUrlProblem('http://10.0.0.5/a.pdf', true)?.code).toBe('MEDIA_URL_INVALID');
    expect(mediaUrlProblem('https://10.0.0.5/a.pdf', true)?.code).toBe('MEDIA_URL_NOT_PUBLIC');
  });
});

const connected = async () => {
  const deps = fakeGatewayDeps({ ratePerMinute: 10 });
  const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
  await deps.sessions.transition(session.sessionId, { to: 'CONNECTED', now: deps.clock.now().toISOString() });
  deps.commands.published.length = 0;
  const media = new InMemoryMediaStore();
  return { deps: { ...deps, media }, media, sessionId: session.sessionId };
};

describe('sendMessage with media', () => {
  it('queues an uploaded file with its description on the message and in the command', async () => {
    const { deps, media, sessionId } = await connected();
    const { mediaId } = await createMediaUpload({ media, clock }, 't1', {
      mimeType: 'application/pdf',
      fileName: 'invoice.pdf',
      size: 100,
    });
    await media.put('t1', mediaId, Readable.from([randomBytes(100)]), {
      mimeType: 'application/pdf',
      size: 100,
      sha256: '',
    });
    const body = SendMessageBody.parse({
      sessionId,
      to: '4915112345678',
      media: { mediaId, caption: 'Here' },
    });
    const { messageId } = await sendMessage(deps, 't1', body);
    const stored = deps.messages.items.get(messageId);
    expect(stored).toMatchObject({
      text: '[document: Here]',
      media: { mediaId, mimeType: 'application/pdf', fileName: 'invoice.pdf', size: 100, caption: 'Here' },
    });
    const [published] = deps.commands.published;
    expect(SendCommand.parse(published?.command).media).toEqual({
      mediaId,
      mimeType: 'application/pdf',
      fileName: 'invoice.pdf',
      caption: 'Here',
    });
  });

  it("answers 404 for another tenant's mediaId and 400 MEDIA_NOT_UPLOADED before the upload, queueing nothing", async () => {
    const { deps, media, sessionId } = await connected();
    const theirs = await createMediaUpload({ media, clock }, 't2', { mimeType: 'image/png', size: 10 });
    const ours = await createMediaUpload({ media, clock }, 't1', { mimeType: 'image/png', size: 10 });
    const send = (mediaId: string) =>
      sendMessage(deps, 't1', SendMessageBody.parse({ sessionId, to: '4915112345678', media: { mediaId } }));
    await expect(send(theirs.mediaId)).rejects.toMatchObject({ kind: 'not_found', code: 'MEDIA_NOT_FOUND' });
    await expect(send(randomUUID())).rejects.toMatchObject({ kind: 'not_found', code: 'MEDIA_NOT_FOUND' });
    await expect(send(ours.mediaId)).rejects.toMatchObject({ kind: 'invalid', code: 'MEDIA_NOT_UPLOADED' });
    expect(deps.messages.items.size).toBe(0);
    expect(deps.commands.published).toHaveLength(0);
  });

  it('queues a URL send with its declared type; a private address is refused unless local', async () => {
    const { deps, sessionId } = await connected();
    const body = (url: string) =>
      SendMessageBody.parse({
        sessionId,
        to: '4915112345678',
        media: { url, mimeType: 'image/jpeg' },
        message: 'hi',
      });
    const { messageId } = await sendMessage(deps, 't1', body('https://cdn.example.com/p.jpg'));
    expect(deps.messages.items.get(messageId)).toMatchObject({
      text: '[image: hi]',
      media: { url: 'https://cdn.example.com/p.jpg', mimeType: 'image/jpeg', caption: 'hi' },
    });
    // Not kept: no mediaId that GET /media/{id} would answer 404 for, nor in the runner's command.
    expect(deps.messages.items.get(messageId)?.media?.mediaId).toBeUndefined();
    await expect(sendMessage(deps, 't1', body('https://10.1.2.3/p.jpg'))).rejects.toMatchObject({
      code: 'MEDIA_URL_NOT_PUBLIC',
    });
    const local = { ...deps, mediaUrlAllowLoopback: true };
    await expect(sendMessage(local, 't1', body('http://127.0.0.1:9/p.jpg'))).resolves.toMatchObject({
      status: 'QUEUED',
    });
  });

  it('validates the body: a text or a file, and exactly one source with a type for a URL', () => {
    const base = { sessionId: randomUUID(), to: '4915112345678' };
    expect(SendMessageBody.safeParse(base).success).toBe(false);
    expect(SendMessageBody.safeParse({ ...base, media: {} }).success).toBe(false);
    expect(
      SendMessageBody.safeParse({ ...base, media: { mediaId: randomUUID(), url: 'https://a.example/x' } })
        .success,
    ).toBe(false);
    expect(SendMessageBody.safeParse({ ...base, media: { url: 'https://a.example/x' } }).success).toBe(false);
    expect(SendMessageBody.safeParse({ ...base, media: { mediaId: randomUUID() } }).success).toBe(true);
    expect(SendMessageBody.safeParse({ ...base, message: 'hi' }).success).toBe(true);
  });

  it('takes a file name without path separators or control characters, and a whole positive size', () => {
    const ok = (body: object) => MediaUploadBody.safeParse(body).success;
    expect(ok({ mimeType: 'application/pdf', fileName: 'Rechnung März (1).pdf', size: 1 })).toBe(true);
    expect(ok({ mimeType: 'application/pdf', fileName: '../etc/passwd', size: 1 })).toBe(false);
    expect(ok({ mimeType: 'application/pdf', fileName: 'a\\b.pdf', size: 1 })).toBe(false);
    expect(ok({ mimeType: 'application/pdf', fileName: 'a\r\nb.pdf', size: 1 })).toBe(false);
    expect(ok({ mimeType: 'application/pdf', size: 0 })).toBe(false);
    expect(ok({ mimeType: 'application/pdf', size: 1.5 })).toBe(false);
  });
});
