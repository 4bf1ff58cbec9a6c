import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from './index.ts';
import { BaileysTestClient } from './testing/baileys-client.ts';
import { connectPairedClient, startTrustedSimulator, uniqueNumber } from './testing/trusted-simulator.ts';
import { waitFor } from './testing/wait-for.ts';

// What WhatsApp does for a message that did not arrive whole (#10): the server keeps a message
// until the device answers it, and a recipient that cannot decrypt asks the sender for it again.

let sim: Simulator;

beforeAll(async () => {
  sim = await startTrustedSimulator();
});
afterAll(async () => {
  await sim?.stop();
});

describe('a message a linked device never answered', () => {
  it('is delivered again when the device logs in after its connection dropped', async () => {
    const number = uniqueNumber();
    const client = await connectPairedClient(sim, number);
    // The process dies as the message arrives: no receipt, no ack.
    client.sock.ws.on('CB:message', () => void client.sock.ws.close());
    const before = sim.stats().redelivered;
    await sim.sendText(uniqueNumber('1444'), number, 'arrived as the device died');
    await waitFor(
      () => sim.stats().devices.find((d) => d.jid === `${number}:1@s.whatsapp.net`)?.connections === 0,
      'the device to go offline',
    );
    expect(sim.stats().redelivered).toBe(before + 1);

    client.restart();
    await client.message('arrived as the device died');
    client.end();
  });
});

describe('a receipt a linked device never acked', () => {
  it('is delivered again when the device logs in after its connection dropped', async () => {
    const number = uniqueNumber();
    const contact = uniqueNumber('1444');
    const client = await connectPairedClient(sim, number);
    await sim.sendText(contact, number, 'hello');
    await client.message('hello');
    // The process dies as the delivery receipt of its message arrives: no ack.
    client.sock.ws.on('CB:receipt', () => void client.sock.ws.close());
    const sent = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'was it delivered?' });
    const id = sent?.key.id as string;
    await waitFor(
      () => sim.stats().devices.find((d) => d.jid === `${number}:1@s.whatsapp.net`)?.connections === 0,
      'the device to go offline',
    );
    client.updates.length = 0; // whatever the dying socket still reported does not count

    client.restart();
    await client.status(id, 3);
    client.end();
  });
});

describe('a contact that cannot decrypt what a linked device sent', () => {
  it('sends the device a retry receipt, and the copy the device sends again arrives', async () => {
    const number = uniqueNumber();
    const contact = uniqueNumber('1444');
    const text = 'garbled on the way';
    const client = new BaileysTestClient(sim.url, sim.createPairedCredentials(number), 5_000, {
      // The device answers a retry from what it stored, as the runner does.
      getMessage: async () => ({ conversation: text }),
    });
    await client.opened();
    await sim.sendText(contact, number, 'hello');
    await client.message('hello');
    const before = sim.stats();

    // A copy no Signal session can open, as after a device lost or corrupted its state.
    const id = `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
    await client.sock.sendNode({
      tag: 'message',
      attrs: { to: `${contact}@s.whatsapp.net`, id, type: 'text' },
      content: [{ tag: 'enc', attrs: { v: '2', type: 'msg' }, content: randomBytes(64) }],
    });

    const arrived = await waitFor(
      () => sim.inbox(contact).find((m) => m.id === id),
      'the copy sent again after the retry receipt',
      15_000,
    );
    expect(arrived.text).toBe(text);
    expect(sim.stats().decryptFailures).toBeGreaterThan(before.decryptFailures);
    expect(sim.stats().retryRequests).toBe(before.retryRequests + 1);
    client.end();
  });
});
