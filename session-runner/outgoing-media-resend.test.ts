import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import type { proto } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '#local/simulator/index.ts';
import { BaileysTestClient } from '#local/simulator/testing/baileys-client.ts';
import { startTrustedSimulator, uniqueNumber } from '#local/simulator/testing/trusted-simulator.ts';
import { waitFor } from '#local/simulator/testing/wait-for.ts';
import type { SentMedia } from '#shared/ports/message-store.ts';
import { resendMessageOf, sentMediaOf } from './outgoing-media-sent.ts';

// A sent file, recorded as the runner records it (sentMediaOf), sent again from that record alone
// when the contact cannot decrypt a copy and asks for it (a retry receipt): real Baileys against
// the WhatsApp simulator, whose contact downloads and decrypts what arrives.

let sim: Simulator;
let client: BaileysTestClient;
let phone: string;
/** What the runner's message store would hold, by WhatsApp id. */
const stored = new Map<string, SentMedia>();

beforeAll(async () => {
  sim = await startTrustedSimulator();
  phone = uniqueNumber();
  client = new BaileysTestClient(sim.url, sim.createPairedCredentials(phone), 5_000, {
    fetchAgent: new Agent({ ca: sim.mediaCaPem }),
    // As the runner's getMessage: the stored media message, nothing of the file's bytes.
    getMessage: async (key) => {
      const media = key.id ? stored.get(key.id) : undefined;
      return media && resendMessageOf(media.waMedia);
    },
  });
  await client.opened();
});
afterAll(async () => {
  client?.end();
  await sim?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('a sent file asked for again', () => {
  it("records the plain size and sha256 and resends the file from the stored media message on the contact's retry request", async () => {
    const contact = uniqueNumber('1444');
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(9_000)]);
    const sent = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, {
      document: pdf,
      mimetype: 'application/pdf',
      fileName: 'invoice.pdf',
      caption: 'Your invoice',
    });
    const record = sentMediaOf(sent?.message);
    expect(record).toMatchObject({ size: pdf.length, sha256: sha256(pdf) });
    await waitFor(() => sim.inbox(contact).some((m) => m.id === sent?.key.id), 'the first copy');
    const before = sim.stats();

    // A copy under a new id that no Signal session can open, as after a device lost its state:
    // the contact asks for it again and Baileys answers from getMessage.
    const id = `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
    stored.set(id, record as SentMedia);
    await client.sock.sendNode({
      tag: 'message',
      attrs: { to: `${contact}@s.whatsapp.net`, id, type: 'media' },
      content: [
        { tag: 'enc', attrs: { v: '2', type: 'msg', mediatype: 'document' }, content: randomBytes(64) },
      ],
    });

    const arrived = await waitFor(
      () => sim.inbox(contact).find((m) => m.id === id),
      'the file sent again after the retry receipt',
      15_000,
    );
    expect(arrived.media).toMatchObject({
      mimeType: 'application/pdf',
      fileName: 'invoice.pdf',
      size: pdf.length,
      sha256: sha256(pdf),
    });
    expect(sim.stats().retryRequests).toBe(before.retryRequests + 1);
  });

  it('keeps the media key and hashes in the stored record and takes nothing from a text message', () => {
    const message: proto.IMessage = {
      imageMessage: {
        mediaKey: Buffer.alloc(32, 3),
        fileSha256: Buffer.alloc(32, 4),
        fileEncSha256: Buffer.alloc(32, 5),
        fileLength: 77,
        mimetype: 'image/jpeg',
        directPath: '/o1/x',
      },
    };
    const record = sentMediaOf(message) as SentMedia;
    expect(record).toMatchObject({ size: 77, sha256: '04'.repeat(32) });
    const back = resendMessageOf(record.waMedia).imageMessage;
    expect(Buffer.from(back?.mediaKey ?? []).equals(Buffer.alloc(32, 3))).toBe(true);
    expect(back?.directPath).toBe('/o1/x');
    expect(sentMediaOf({ conversation: 'hi' })).toBeUndefined();
  });
});
