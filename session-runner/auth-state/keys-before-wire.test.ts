import { makeWASocket, type SocketConfig, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '#local/simulator/index.ts';
import { startTrustedSimulator, uniqueNumber } from '#local/simulator/testing/trusted-simulator.ts';
import { waitFor } from '#local/simulator/testing/wait-for.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { silentBaileysLogger } from '../baileys-logger.ts';
import { DurableAuthState } from './durable-auth-state.ts';

// Regression for #10 (r1, r4): Baileys sent a message inside its key transaction and stored the
// Signal state it used afterwards, so a kill -9 or a failed S3 write in between left the runner
// with a ratchet older than the wire, and its next message reused a message key the contact
// drops. The patched Baileys stores the keys first; a send whose keys cannot be stored never leaves.

/** An S3 stand-in whose key-journal writes fail while `down` is set. */
class OutageStore extends InMemoryObjectStore {
  down = false;
  override async put(key: string, body: Buffer): Promise<void> {
    if (this.down && key.endsWith('-k.json')) throw new Error('S3 unavailable');
    await super.put(key, body);
  }
}

let sim: Simulator;
const sockets: WASocket[] = [];

beforeAll(async () => {
  sim = await startTrustedSimulator();
});
afterAll(async () => {
  for (const sock of sockets) sock.end(undefined);
  await sim?.stop();
});

const connect = async (auth: DurableAuthState, more: Partial<SocketConfig> = {}) => {
  const sock = makeWASocket({
    waWebSocketUrl: sim.url,
    auth: auth.state,
    logger: silentBaileysLogger,
    markOnlineOnConnect: false,
    // One commit attempt: the outage outlasts Baileys' retries either way.
    transactionOpts: { maxCommitRetries: 1, delayBetweenTriesMs: 0 },
    ...more,
  });
  sockets.push(sock);
  sock.ev.on('creds.update', () => void auth.saveCreds().catch(() => undefined));
  let open = false;
  sock.ev.on('connection.update', (u) => {
    if (u.connection === 'open') open = true;
  });
  await waitFor(() => open, 'the socket to open');
  return sock;
};

describe('an outgoing message and the Signal state it used', () => {
  it('never leaves when its keys cannot be stored, and the next message still decrypts at the contact', async () => {
    const phone = uniqueNumber();
    const contact = uniqueNumber('1444');
    const store = new OutageStore();
    const auth = await DurableAuthState.load({
      store,
      sessionId: 'kbw',
      fence: 1,
      sleep: async () => undefined,
    });
    auth.state.creds = sim.createPairedCredentials(phone);
    const sock = await connect(auth);
    const to = `${contact}@s.whatsapp.net`;
    await sock.sendMessage(to, { text: 'before the outage' });
    await waitFor(() => sim.inbox(contact).some((m) => m.text === 'before the outage'), 'the first message');
    const failuresBefore = sim.stats().decryptFailures;

    store.down = true;
    await expect(sock.sendMessage(to, { text: 'during the outage' })).rejects.toThrow();
    store.down = false;
    await sock.sendMessage(to, { text: 'after the outage' });

    await waitFor(() => sim.inbox(contact).some((m) => m.text === 'after the outage'), 'the message after');
    // Sent in order on one connection: had the failed one left, the contact would have it by now.
    expect(sim.inbox(contact).map((m) => m.text)).toEqual(['before the outage', 'after the outage']);
    expect(sim.stats().decryptFailures).toBe(failuresBefore);
  });

  it('an incoming message whose process dies before storing it decrypts again when the server redelivers it', async () => {
    const phone = uniqueNumber();
    const contact = uniqueNumber('1444');
    const store = new OutageStore();
    const first = await DurableAuthState.load({
      store,
      sessionId: 'kbw2',
      fence: 1,
      sleep: async () => undefined,
    });
    first.state.creds = sim.createPairedCredentials(phone);
    await first.snapshot();
    let dying: WASocket | undefined;
    dying = await connect(first, {
      // Decrypted, not stored yet: the process dies here (nothing after this line runs).
      beforeReceipt: async () => {
        dying?.ws.close();
        throw new Error('killed');
      },
    });
    await sim.sendText(contact, phone, 'in flight at the crash');
    await waitFor(
      () => sim.stats().devices.find((d) => d.jid === `${phone}:1@s.whatsapp.net`)?.connections === 0,
      'the device to go offline',
    );
    await first.settle();

    // A new process loads what the dead one stored and logs in: the server delivers the message again.
    const second = await DurableAuthState.load({
      store,
      sessionId: 'kbw2',
      fence: 2,
      sleep: async () => undefined,
    });
    const stored: WAMessage[] = [];
    await connect(second, { beforeReceipt: async (m) => void stored.push(m as WAMessage) });
    const again = await waitFor(() => stored.find((m) => m.message?.conversation), 'the redelivered message');
    expect(again.message?.conversation).toBe('in flight at the crash');
  });
});
