import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCONNECT_CODES, type Simulator } from './index.ts';
import { BaileysTestClient } from './testing/baileys-client.ts';
import { connectPairedClient, startTrustedSimulator, uniqueNumber } from './testing/trusted-simulator.ts';
import { waitFor } from './testing/wait-for.ts';

let sim: Simulator;

beforeAll(async () => {
  sim = await startTrustedSimulator();
});
afterAll(async () => {
  await sim.stop();
});

describe('stream errors on demand', () => {
  it.each(DISCONNECT_CODES)('ends the Baileys socket with %i', async (code) => {
    const phone = uniqueNumber();
    const client = await connectPairedClient(sim, phone);

    expect(sim.disconnect(phone, code)).toBe(1);

    expect((await client.closedWith()).statusCode).toBe(code);
    client.end();
  });

  it('lets a device log in again after anything but 401', async () => {
    const phone = uniqueNumber();
    const client = await connectPairedClient(sim, phone);
    sim.disconnect(phone, 503);
    await client.closedWith();

    client.restart();
    await client.opened();
    client.end();
  });
});

describe('a second connection of one device', () => {
  it('replaces the first with 440 and counts a replacement', async () => {
    const phone = uniqueNumber();
    const first = await connectPairedClient(sim, phone);
    const second = new BaileysTestClient(sim.url, first.auth.creds);
    await second.opened();

    expect(await first.closedWith()).toMatchObject({ statusCode: 440 });
    const device = await waitFor(
      () => sim.stats().devices.find((d) => d.jid === `${phone}:1@s.whatsapp.net` && d.connections === 1),
      'one connection left',
    );
    expect(device.replacements).toBe(1);
    expect(second.connection).toBe('open');
    second.end();
  });
});
