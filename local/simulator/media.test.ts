import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import type { proto } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadMedia, downloadUrlOf, MediaDownloadError, mediaOf } from '#runner/whatsapp-media.ts';
import type { Simulator } from './index.ts';
import { BaileysTestClient } from './testing/baileys-client.ts';
import { startTrustedSimulator, uniqueNumber } from './testing/trusted-simulator.ts';
import { waitFor } from './testing/wait-for.ts';

let sim: Simulator;
let client: BaileysTestClient;
let phone: string;

beforeAll(async () => {
  sim = await startTrustedSimulator();
  phone = uniqueNumber();
  // Uploads go through Baileys' own HTTPS request with this agent: only it trusts the simulator's CA.
  client = new BaileysTestClient(sim.url, sim.createPairedCredentials(phone), 5_000, {
    fetchAgent: new Agent({ ca: sim.mediaCaPem }),
  });
  await client.opened();
});
afterAll(async () => {
  client?.end();
  await sim?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function receivedMedia(id: string): Promise<proto.IMessage> {
  const message = await waitFor(() => client.received.find((m) => m.key.id === id), `message ${id}`);
  return message.message as proto.IMessage;
}

async function downloaded(message: proto.IMessage): Promise<{ bytes: Buffer; size: number; sha256: string }> {
  const media = mediaOf(message);
  if (!media) throw new Error('no media in the message');
  const { stream, done } = await downloadMedia(media, { simulatorCa: sim.mediaCaPem });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { bytes: Buffer.concat(chunks), ...(await done) };
}

describe('a contact sending a file', () => {
  it('sends an image that Baileys receives and downloads with the same sha256 and caption', async () => {
    const contact = uniqueNumber('1444');
    const image = randomBytes(70_001); // not a multiple of the AES block
    const response = await fetch(`${sim.httpUrl}/contacts/${contact}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        to: phone,
        media: { base64: image.toString('base64'), mimeType: 'image/jpeg', caption: 'broken lid' },
      }),
    });
    expect(response.status).toBe(200);
    const { id } = (await response.json()) as { id: string };

    const message = await receivedMedia(id);
    expect(message.imageMessage).toMatchObject({ mimetype: 'image/jpeg', caption: 'broken lid' });
    const file = await downloaded(message);
    expect(file.sha256).toBe(sha256(image));
    expect(file.size).toBe(image.length);
    expect(file.bytes.equals(image)).toBe(true);
  });

  it('sends an OGG voice note that Baileys sees as ptt audio and downloads intact', async () => {
    const contact = uniqueNumber('1444');
    const voice = Buffer.concat([Buffer.from('OggS'), randomBytes(300)]);
    const { id } = await sim.sendMedia(contact, phone, { bytes: voice, mimeType: 'audio/ogg; codecs=opus' });

    const message = await receivedMedia(id);
    expect(message.audioMessage).toMatchObject({ ptt: true, mimetype: 'audio/ogg; codecs=opus' });
    expect(mediaOf(message)).toMatchObject({ type: 'audio', voiceNote: true });
    expect((await downloaded(message)).sha256).toBe(sha256(voice));
  });

  it('refuses a file whose MAC does not match (wrong media key)', async () => {
    const contact = uniqueNumber('1444');
    const { id } = await sim.sendMedia(contact, phone, { bytes: randomBytes(100), mimeType: 'image/png' });
    const media = mediaOf(await receivedMedia(id));
    if (!media) throw new Error('no media');
    const forged = { ...media, mediaKey: randomBytes(32) };
    const { stream, done } = await downloadMedia(forged, { simulatorCa: sim.mediaCaPem });
    stream.resume();
    await expect(done).rejects.toThrow(MediaDownloadError);
  });

  it('is not reachable for a client that does not trust the simulator CA', async () => {
    const contact = uniqueNumber('1444');
    const { id } = await sim.sendMedia(contact, phone, { bytes: randomBytes(10), mimeType: 'image/png' });
    const media = mediaOf(await receivedMedia(id));
    if (!media) throw new Error('no media');
    // Outside simulator mode the runner only ever asks WhatsApp's host, whatever URL the message names.
    expect(downloadUrlOf(media).hostname).toBe('mmg.whatsapp.net');
    await expect(fetch(media.url as string)).rejects.toThrow();
  });
});

describe('a linked device sending a file', () => {
  it('uploads a document through media_conn that the contact decrypts with the same sha256 and file name', async () => {
    const contact = uniqueNumber('1444');
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(5_000)]);
    const sent = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, {
      document: pdf,
      mimetype: 'application/pdf',
      fileName: 'invoice.pdf',
    });

    const [entry] = await waitFor(() => sim.inbox(contact).length > 0 && sim.inbox(contact), 'the inbox');
    expect(entry).toMatchObject({
      id: sent?.key.id,
      from: phone,
      media: { mimeType: 'application/pdf', fileName: 'invoice.pdf', size: pdf.length, sha256: sha256(pdf) },
    });
    const inbox = (await (await fetch(`${sim.httpUrl}/contacts/${contact}/inbox`)).json()) as unknown[];
    expect(inbox).toEqual([
      expect.objectContaining({ media: expect.objectContaining({ sha256: sha256(pdf) }) }),
    ]);
    expect(sim.stats().decryptFailures).toBe(0);
  });
});
