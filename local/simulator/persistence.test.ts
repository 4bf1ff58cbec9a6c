import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BinaryNode, getBinaryNodeChild } from '@whiskeysockets/baileys';
import { afterAll, describe, expect, it } from 'vitest';
import type { Simulator } from './index.ts';
import type { BaileysTestClient } from './testing/baileys-client.ts';
import { connectPairedClient, startTrustedSimulator, uniqueNumber } from './testing/trusted-simulator.ts';
import { waitFor } from './testing/wait-for.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'wqg-sim-state-'));
const started: Simulator[] = [];
let client: BaileysTestClient | undefined;

afterAll(async () => {
  client?.end();
  for (const sim of started) await sim.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a simulator with a data folder', () => {
  it('keeps accounts, devices, Signal sessions and inboxes across a restart', async () => {
    const first = await startTrustedSimulator({ dataDir });
    started.push(first);
    const phone = uniqueNumber();
    const contact = uniqueNumber('1444');
    client = await connectPairedClient(first, phone);
    const types: string[] = [];
    const watchTypes = () =>
      client?.sock.ws.on('CB:message', (node: BinaryNode) => {
        types.push(getBinaryNodeChild(node, 'enc')?.attrs.type ?? 'none');
      });
    watchTypes();
    await first.sendText(contact, phone, 'before the restart');
    await client.message('before the restart');
    await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'answer' });
    await waitFor(() => first.inbox(contact).length === 1, 'the answer');
    await first.stop();
    expect(statSync(join(dataDir, 'state.json')).mode & 0o777).toBe(0o600);

    // Same port, so the client's URL still works; everything else comes from the file.
    const second = await startTrustedSimulator({ dataDir, port: first.port });
    started.push(second);
    expect(second.rootPublicKeyHex).toBe(first.rootPublicKeyHex);
    client.restart();
    watchTypes();
    await client.opened(); // an unknown device would get <failure reason="401"/>
    expect(second.inbox(contact).map((m) => m.text)).toEqual(['answer']);

    await second.sendText(contact, phone, 'after the restart');
    await client.message('after the restart');
    // The contact's ratchet went on where it was: no new pre-key session, nothing undecryptable.
    expect(types).toEqual(['pkmsg', 'msg']);
    expect(second.stats().decryptFailures).toBe(0);
    expect(second.stats().devices.map((d) => d.jid)).toContain(`${phone}:1@s.whatsapp.net`);
  });

  it('keeps nothing without a data folder', async () => {
    const sim = await startTrustedSimulator();
    started.push(sim);
    const again = await startTrustedSimulator();
    started.push(again);
    expect(again.rootPublicKeyHex).not.toBe(sim.rootPublicKeyHex);
  });
});
