import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';

// Real Baileys against the simulator: a contact's image and voice note are downloaded, decrypted
// and stored in S3 under the tenant by the runner, and the incoming events describe them.

let h: Harness;
let runner: Runner | undefined;
const PHONE = '4915100000912';
const CONTACT = '4915177700912';
const seen: Record<string, unknown>[] = [];

beforeAll(async () => {
  h = await startHarness();
  runner = await startRunner(
    // The simulator's CA is trusted for media only because WHATSAPP_WS_URL is loopback.
    loadConfig(RunnerEnv, { ...h.runnerEnv, WHATSAPP_SIMULATOR_MEDIA_CA: h.sim.mediaCaPem }),
    { socketOverrides: FAST_SOCKET },
  );
}, 60_000);
afterAll(async () => {
  await runner?.shutdown();
  await h?.close();
});

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('incoming media through the runner', () => {
  it('stores a contact image and voice note in S3 under the tenant and publishes them with their sha256', async () => {
    const sessionId = (await h.call('POST', '/init', { chatbotId: 'media-bot' })).body.sessionId;
    const qr = await h.waitFor('a QR', async () => (await h.sessions.get(sessionId))?.qr);
    await h.sim.scanQr(PHONE, qr);
    await h.waitFor('CONNECTED', async () => (await h.sessions.get(sessionId))?.status === 'CONNECTED');
    const tenantId = (await h.sessions.get(sessionId))?.tenantId;

    const photo = randomBytes(50_000);
    const voice = Buffer.concat([Buffer.from('OggS'), randomBytes(700)]);
    await h.sim.sendMedia(CONTACT, PHONE, { bytes: photo, mimeType: 'image/jpeg', caption: 'broken lid' });
    await h.sim.sendMedia(CONTACT, PHONE, { bytes: voice, mimeType: 'audio/ogg; codecs=opus' });

    const events = await h.waitFor('both incoming events', async () => {
      seen.push(...(await h.incoming()));
      return seen.length >= 2 && seen;
    });
    type Event = { text: string; media: Record<string, unknown> };
    const [image, note] = events as [Event, Event];
    expect(image).toMatchObject({
      text: '[image: broken lid]',
      media: { mimeType: 'image/jpeg', size: photo.length, sha256: sha256(photo), caption: 'broken lid' },
    });
    expect(note).toMatchObject({
      text: '[voice note]',
      media: { mimeType: 'audio/ogg; codecs=opus', size: voice.length, sha256: sha256(voice) },
    });
    for (const [event, bytes] of [
      [image, photo],
      [note, voice],
    ] as const) {
      expect(event.media.error).toBeUndefined();
      const object = await h.aws.clients.s3.send(
        new GetObjectCommand({
          Bucket: h.runnerEnv.AUTH_STATE_BUCKET,
          Key: `media/${tenantId}/${event.media.mediaId}`,
        }),
      );
      const stored = await (
        object.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      expect(sha256(stored)).toBe(sha256(bytes));
      expect(object.ContentType).toBe(event.media.mimeType);
    }
  });
});
