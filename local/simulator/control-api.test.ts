import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installWhatsAppTrust } from '#runner/whatsapp-trust.ts';
import { fetchPairedCredentials, type Simulator } from './index.ts';
import { BaileysTestClient } from './testing/baileys-client.ts';
import { startTrustedSimulator, uniqueNumber } from './testing/trusted-simulator.ts';
import { waitFor } from './testing/wait-for.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON checked by the assertions themselves
type Json = any;

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Links a fresh Baileys client to `phone` through `POST /phones/{phone}/scan`. */
async function linkOverHttp(base: string, url: string, phone: string): Promise<BaileysTestClient> {
  const client = new BaileysTestClient(url);
  const scan = await call(base, 'POST', `/phones/${phone}/scan`, { qr: await client.nextQr() });
  expect(scan).toEqual({ status: 200, body: { jid: `${phone}:1@s.whatsapp.net` } });
  expect((await client.closedWith()).statusCode).toBe(515);
  client.restart();
  await client.opened();
  return client;
}

describe('control API in-process', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startTrustedSimulator();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('serves the root key the simulator signs with', async () => {
    expect(await call(sim.httpUrl, 'GET', '/root-key')).toEqual({
      status: 200,
      body: { publicKey: sim.rootPublicKeyHex },
    });
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    expect(await call(sim.httpUrl, 'GET', '/nothing/here')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    expect(await call(sim.httpUrl, 'GET', '/phones/15550001111/scan')).toMatchObject({ status: 405 });
  });

  it.each([
    ['malformed JSON', '/phones/15550001111/scan', '{"qr":'],
    ['a missing field', '/phones/15550001111/scan', {}],
    ['a number with letters', '/phones/1555abc/scan', { qr: 'x' }],
    ['a QR that is not one', '/phones/15550001111/scan', { qr: 'hello' }],
    ['an unsupported disconnect code', '/phones/15550001111/disconnect', { code: 500 }],
    ['an empty text', '/contacts/15550002222/send', { to: '15550001111', text: '' }],
    ['a bad pairing code', '/phones/15550001111/pairing-code', { code: '12' }],
  ])('answers 400 with an error code for %s', async (_, path, body) => {
    const { status, body: answer } = await call(sim.httpUrl, 'POST', path, body);
    expect(status).toBe(400);
    expect(answer.error).toEqual({ code: expect.any(String), message: expect.any(String) });
  });

  it('answers 409 when the number has no linked device and 404 for an unknown message', async () => {
    expect(
      await call(sim.httpUrl, 'POST', `/contacts/${uniqueNumber()}/send`, { to: uniqueNumber(), text: 'hi' }),
    ).toMatchObject({ status: 409, body: { error: { code: 'NOT_LINKED' } } });
    expect(await call(sim.httpUrl, 'POST', `/contacts/${uniqueNumber()}/read`, { id: 'NOPE' })).toMatchObject(
      {
        status: 404,
        body: { error: { code: 'UNKNOWN_MESSAGE' } },
      },
    );
  });

  it('links, chats, reads, counts and disconnects over HTTP', async () => {
    const phone = uniqueNumber();
    const contact = uniqueNumber('1444');
    const client = await linkOverHttp(sim.httpUrl, sim.url, phone);

    const sent = await call(sim.httpUrl, 'POST', `/contacts/${contact}/send`, {
      to: `+${phone}`,
      text: 'over http',
    });
    expect(sent.status).toBe(200);
    const got = await client.message('over http');
    // What the contact sent, with the linked device's receipts: read once Baileys marks it read.
    await client.sock.readMessages([got.key]);
    const [mine] = await waitFor(async () => {
      const { body } = await call(sim.httpUrl, 'GET', `/contacts/${contact}/sent`);
      return body[0]?.readAt !== undefined && body;
    }, 'the read receipt');
    expect(mine).toMatchObject({
      id: sent.body.id,
      to: phone,
      text: 'over http',
      readAt: expect.any(Number),
    });

    const reply = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'reply over http' });
    const inbox = await waitFor(async () => {
      const { body } = await call(sim.httpUrl, 'GET', `/contacts/${contact}/inbox`);
      return body.length > 0 && body;
    }, 'the inbox');
    expect(inbox).toEqual([
      { id: reply?.key.id, from: phone, text: 'reply over http', timestamp: expect.any(Number), repeats: 0 },
    ]);
    await client.status(reply?.key.id ?? '', 3);
    expect(await call(sim.httpUrl, 'POST', `/contacts/${contact}/read`, { id: reply?.key.id })).toMatchObject(
      {
        status: 200,
      },
    );
    await client.status(reply?.key.id ?? '', 4);

    // The `{ from }` form: the contact reads everything unread from the linked number (once).
    const later = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'read me too' });
    await client.status(later?.key.id ?? '', 3);
    expect(await call(sim.httpUrl, 'POST', `/contacts/${contact}/read`, { from: `+${phone}` })).toEqual({
      status: 200,
      body: { ok: true, read: 1 },
    });
    await client.status(later?.key.id ?? '', 4);

    const stats = await call(sim.httpUrl, 'GET', '/stats');
    expect(stats.body.devices).toContainEqual(
      expect.objectContaining({ jid: `${phone}:1@s.whatsapp.net`, connections: 1, replacements: 0 }),
    );
    expect(stats.body).toMatchObject({ messagesIn: expect.any(Number), messagesOut: expect.any(Number) });

    expect(await call(sim.httpUrl, 'POST', `/phones/${phone}/disconnect`, { code: 440 })).toEqual({
      status: 200,
      body: { connections: 1 },
    });
    expect((await client.closedWith()).statusCode).toBe(440);
  });
});

describe('the simulator as a process of its own', () => {
  let child: ChildProcess;
  let ws: string;
  let rootKey: string;
  let base: string;

  beforeAll(async () => {
    // What `npm run simulator` runs, minus npm and the tsx CLI, so signals reach the simulator itself.
    child = spawn(process.execPath, ['--import', 'tsx', 'local/simulator/main.ts'], {
      env: { ...process.env, SIMULATOR_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const [line] = (await Promise.race([
      once(lines, 'line'),
      once(child, 'exit').then(() => {
        throw new Error('the simulator exited');
      }),
    ])) as [string];
    const match = /^simulator: ws=(ws:\/\/127\.0\.0\.1:\d+\/ws\/chat) rootKey=([0-9a-f]{64})$/.exec(line);
    if (!match?.[1] || !match[2]) throw new Error(`unexpected first line: ${line}`);
    [, ws, rootKey] = match as unknown as [string, string, string];
    base = ws.replace('ws://', 'http://').replace('/ws/chat', '');
    installWhatsAppTrust({ waWebSocketUrl: ws, simulatorRootKeyHex: rootKey });
  }, 60_000);

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('links a Baileys socket, chats and disconnects it through the control API', async () => {
    expect(await call(base, 'GET', '/root-key')).toEqual({ status: 200, body: { publicKey: rootKey } });
    const phone = uniqueNumber();
    const contact = uniqueNumber('1444');
    const client = await linkOverHttp(base, ws, phone);

    await call(base, 'POST', `/contacts/${contact}/send`, { to: phone, text: 'across processes' });
    await client.message('across processes');
    const reply = await client.sock.sendMessage(`${contact}@s.whatsapp.net`, { text: 'and back' });
    await waitFor(
      async () => (await call(base, 'GET', `/contacts/${contact}/inbox`)).body[0]?.text === 'and back',
      'reply',
    );
    await client.status(reply?.key.id ?? '', 3);

    await call(base, 'POST', `/phones/${phone}/disconnect`, { code: 428 });
    expect((await client.closedWith()).statusCode).toBe(428);
  });

  it('links pre-paired credentials fetched over HTTP', async () => {
    const client = new BaileysTestClient(ws, await fetchPairedCredentials(base, uniqueNumber()));
    await client.opened();
    client.end();
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
