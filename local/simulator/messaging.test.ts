import { type BinaryNode, getBinaryNodeChild } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from './index.ts';
import type { BaileysTestClient } from './testing/baileys-client.ts';
import { connectPairedClient, startTrustedSimulator, uniqueNumber } from './testing/trusted-simulator.ts';
import { waitFor } from './testing/wait-for.ts';

let sim: Simulator;
let client: BaileysTestClient;
let phone: string;
const incomingTypes: string[] = [];

beforeAll(async () => {
  sim = await startTrustedSimulator();
  phone = uniqueNumber();
  client = await connectPairedClient(sim, phone);
  client.sock.ws.on('CB:message', (node: BinaryNode) => {
    incomingTypes.push(getBinaryNodeChild(node, 'enc')?.attrs.type ?? 'none');
  });
});
afterAll(async () => {
  client?.end();
  await sim?.stop();
});

describe('a contact writing to a linked number', () => {
  it('starts with a pkmsg, continues with a msg, and Baileys decrypts both', async () => {
    const contact = uniqueNumber('1444');
    const first = await sim.sendText(contact, phone, 'hello from the contact');
    const received = await client.message('hello from the contact');
    expect(received.key).toMatchObject({
      id: first.id,
      fromMe: false,
      remoteJid: `${contact}@s.whatsapp.net`,
    });
    expect(received.pushName).toBeTruthy();

    // Once the contact has decrypted an answer, its session is confirmed and it stops sending pkmsg.
    await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'answer' });
    await waitFor(() => sim.inbox(contact).length === 1, 'the answer');
    await sim.sendText(contact, phone, 'second message');
    await client.message('second message');

    expect(incomingTypes.slice(-2)).toEqual(['pkmsg', 'msg']);
    expect(sim.stats().decryptFailures).toBe(0);
  });

  it('records the delivery and read receipts the linked device sends for what the contact sent', async () => {
    const contact = uniqueNumber('1444');
    const { id } = await sim.sendText(contact, phone, 'read me please');
    const received = await client.message('read me please');
    const delivered = await waitFor(
      () => sim.sent(contact).find((m) => m.deliveredAt),
      'the delivery receipt',
    );
    expect(delivered).toMatchObject({ id, to: phone, text: 'read me please' });
    expect(delivered.readAt).toBeUndefined();

    await client.sock.readMessages([received.key]);
    const read = await waitFor(() => sim.sent(contact).find((m) => m.readAt), 'the read receipt');
    expect(read.id).toBe(id);
  });
});

describe('a linked device writing to a contact', () => {
  it('is decrypted by the contact and, as a device-sent copy, by the phone', async () => {
    const contact = uniqueNumber('1444');
    const before = sim.stats();
    const sent = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'hi contact' });

    const [entry] = await waitFor(() => sim.inbox(contact).length > 0 && sim.inbox(contact), 'the inbox');
    expect(entry).toMatchObject({ id: sent?.key.id, from: phone, text: 'hi contact', repeats: 0 });
    const after = sim.stats();
    expect(after.phoneCopies).toBe(before.phoneCopies + 1);
    expect(after.messagesIn).toBe(before.messagesIn + 1);
    expect(after.decryptFailures).toBe(0);
  });

  it('reports delivery and then a read receipt as messages.update', async () => {
    const contact = uniqueNumber('1444');
    const sent = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'will you read this?' });
    const id = sent?.key.id ?? '';

    await client.status(id, 3);
    sim.markRead(contact, id);
    await client.status(id, 4);
  });

  it('keeps one inbox entry per message id and counts the repeats', async () => {
    const contact = uniqueNumber('1444');
    const jid = `${contact}@s.whatsapp.net`;
    await client.sock.sendMessage(jid, { text: 'same message' }, { messageId: 'SIMREPEAT0001' });
    await client.sock.sendMessage(jid, { text: 'same message' }, { messageId: 'SIMREPEAT0001' });

    const entry = await waitFor(() => sim.inbox(contact).find((e) => e.repeats === 1), 'the repeat');
    expect(entry).toMatchObject({ id: 'SIMREPEAT0001', text: 'same message' });
    expect(sim.inbox(contact)).toHaveLength(1);
  });
});

describe('delivery', () => {
  it('queues messages for an offline device and delivers them when it logs in again', async () => {
    const number = uniqueNumber();
    const offline = await connectPairedClient(sim, number);
    offline.end();
    await waitFor(
      () => sim.stats().devices.find((d) => d.jid === `${number}:1@s.whatsapp.net`)?.connections === 0,
      'logout',
    );

    const { id } = await sim.sendText(uniqueNumber('1444'), number, 'sent while you were away');
    expect(sim.stats().devices).toContainEqual(
      expect.objectContaining({ jid: `${number}:1@s.whatsapp.net`, queued: 1 }),
    );

    offline.restart();
    await offline.message('sent while you were away');
    // As on WhatsApp, what waited in the offline queue comes as an `append`, not a `notify`.
    expect(offline.upsertTypes.get(id)).toBe('append');
    offline.end();
  });

  it('relays a message between two linked numbers', async () => {
    const other = uniqueNumber();
    const receiver = await connectPairedClient(sim, other);
    await client.sock.sendMessage(`${other}@s.whatsapp.net`, { text: 'between two gateways' });

    const received = await receiver.message('between two gateways');
    expect(received.key.fromMe).toBe(false);
    expect(sim.inbox(other)[0]).toMatchObject({ from: phone, text: 'between two gateways' });
    receiver.end();
  });

  it('refuses to send to a number without a linked device', async () => {
    await expect(sim.sendText(uniqueNumber('1444'), uniqueNumber('1333'), 'nobody')).rejects.toMatchObject({
      code: 'NOT_LINKED',
    });
  });
});
