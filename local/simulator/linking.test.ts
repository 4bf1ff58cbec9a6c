import { initAuthCreds } from '@whiskeysockets/baileys';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from './index.ts';
import { BaileysTestClient } from './testing/baileys-client.ts';
import { connectPairedClient, startTrustedSimulator, uniqueNumber } from './testing/trusted-simulator.ts';
import { waitFor } from './testing/wait-for.ts';

let sim: Simulator;
const clients: BaileysTestClient[] = [];
const track = (client: BaileysTestClient) => {
  clients.push(client);
  return client;
};

beforeAll(async () => {
  sim = await startTrustedSimulator();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.end();
});
afterAll(async () => {
  await sim.stop();
});

describe('QR linking', () => {
  it('emits a QR the phone scans, restarts with 515 and then logs in', async () => {
    const phone = uniqueNumber();
    const client = track(new BaileysTestClient(sim.url));
    const qr = await client.nextQr();
    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#/);

    const linked = await sim.scanQr(phone, qr);
    expect(linked.jid).toBe(`${phone}:1@s.whatsapp.net`);
    expect(await client.closedWith()).toMatchObject({ statusCode: 515 });
    expect(client.auth.creds.me).toMatchObject({ id: linked.jid, lid: expect.stringMatching(/:1@lid$/) });

    client.restart();
    await client.opened();
    // The push name comes with the pairing, so Baileys goes online and sends real receipts.
    expect(client.auth.creds.me?.name).toBeTruthy();
    expect(sim.stats().devices).toContainEqual(expect.objectContaining({ jid: linked.jid, connections: 1 }));
  });

  it('refuses a QR whose keys are not those of the connection showing it', async () => {
    const client = track(new BaileysTestClient(sim.url));
    const [prefix, ref, , ...rest] = (await client.nextQr()).split(/[#,]/);
    const forged = `${prefix}#${[ref, Buffer.from(initAuthCreds().noiseKey.public).toString('base64'), ...rest].join(',')}`;
    await expect(sim.scanQr(uniqueNumber(), forged)).rejects.toMatchObject({ code: 'QR_MISMATCH' });
  });

  it('refuses a QR that no connection shows', async () => {
    const creds = initAuthCreds();
    const key = (k: Uint8Array) => Buffer.from(k).toString('base64');
    const qr = `2@nothing,${key(creds.noiseKey.public)},${key(creds.signedIdentityKey.public)},${creds.advSecretKey},1`;
    await expect(sim.scanQr(uniqueNumber(), qr)).rejects.toMatchObject({ code: 'QR_NOT_FOUND' });
  });
});

describe('pairing code', () => {
  it('links a device with the code Baileys shows', async () => {
    const phone = uniqueNumber();
    const client = track(new BaileysTestClient(sim.url));
    await client.nextQr();
    const code = await client.sock.requestPairingCode(phone);

    const linked = await sim.enterPairingCode(phone, `${code.slice(0, 4)}-${code.slice(4)}`);
    expect(linked.jid).toBe(`${phone}:1@s.whatsapp.net`);
    expect(await client.closedWith()).toMatchObject({ statusCode: 515 });
    expect(client.auth.creds.registered).toBe(true);

    client.restart();
    await client.opened();
    expect(client.auth.creds.me?.id).toBe(linked.jid);
  });

  it('refuses a wrong code', async () => {
    const phone = uniqueNumber();
    const client = track(new BaileysTestClient(sim.url));
    await client.nextQr();
    await client.sock.requestPairingCode(phone);
    await expect(sim.enterPairingCode(phone, 'ZZZZ-ZZZZ')).rejects.toMatchObject({
      code: 'WRONG_PAIRING_CODE',
    });
    expect(sim.stats().devices.some((d) => d.jid.startsWith(`${phone}:`))).toBe(false);
  });
});

describe('login', () => {
  it('logs in pre-paired credentials without a QR code', async () => {
    const client = track(await connectPairedClient(sim, uniqueNumber()));
    expect(client.qrs).toEqual([]);
  });

  it('refuses an unknown device with 401', async () => {
    const creds = initAuthCreds();
    creds.me = { id: `${uniqueNumber()}:7@s.whatsapp.net` };
    const client = track(new BaileysTestClient(sim.url, creds));
    expect(await client.closedWith()).toMatchObject({ statusCode: 401, message: 'Connection Failure' });
  });

  it('refuses a device logging in with another noise key (an impostor) with 401', async () => {
    const creds = { ...sim.createPairedCredentials(uniqueNumber()), noiseKey: initAuthCreds().noiseKey };
    const client = track(new BaileysTestClient(sim.url, creds));
    expect(await client.closedWith()).toMatchObject({ statusCode: 401 });
  });

  it('refuses a removed device at its next login', async () => {
    const phone = uniqueNumber();
    const client = track(await connectPairedClient(sim, phone));
    expect(sim.disconnect(phone, 401)).toBe(1);
    expect(await client.closedWith()).toMatchObject({ statusCode: 401 });

    client.restart();
    expect(await client.closedWith()).toMatchObject({ statusCode: 401, message: 'Connection Failure' });
  });

  it('forgets a device that logs out', async () => {
    const phone = uniqueNumber();
    const client = track(await connectPairedClient(sim, phone));
    await client.sock.logout();
    await waitFor(() => !sim.stats().devices.some((d) => d.jid.startsWith(`${phone}:`)), 'the device to go');
  });
});
