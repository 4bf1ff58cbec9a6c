import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';

// The runner in-process with real Baileys against the simulator, driven through the tenant API.

let h: Harness;
let runner: Runner | undefined;
const PHONE = '4915100000001';
const CONTACT = '4915199999999';

const startInProcess = () =>
  startRunner(loadConfig(RunnerEnv, h.runnerEnv), { socketOverrides: FAST_SOCKET });

beforeAll(async () => {
  h = await startHarness();
  runner = await startInProcess();
});
afterAll(async () => {
  await runner?.shutdown();
  await h?.close();
});

describe('session runner with real Baileys and the simulator', () => {
  let sessionId: string;

  it('links a session by QR: init → QR_READY → scan → CONNECTED with the phone number', async () => {
    const init = await h.call('POST', '/init', { chatbotId: 'runner-bot' });
    expect(init.status).toBe(201);
    sessionId = init.body.sessionId;
    const qr = await h.waitFor('a QR', async () => {
      const res = await h.call('GET', `/qr-code/${sessionId}`);
      return res.status === 200 ? (res.body.qr as string) : undefined;
    });
    await h.sim.scanQr(PHONE, qr);
    const status = await h.waitFor('CONNECTED', async () => {
      const res = await h.call('GET', `/status/${sessionId}`);
      return res.body.status === 'CONNECTED' ? res.body : undefined;
    });
    expect(status).toMatchObject({ phoneNumber: PHONE, runnerSeenAt: expect.any(String) });
  });

  it('links by pairing code when init names the phone number', async () => {
    const phone = '4915100000009';
    const init = await h.call('POST', '/init', { chatbotId: 'code-bot', pairingPhoneNumber: `+${phone}` });
    const code = await h.waitFor(
      'a pairing code',
      async () => (await h.call('GET', '/session/code-bot')).body.pairingCode,
    );
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    await h.sim.enterPairingCode(phone, code);
    const status = await h.waitFor('CONNECTED', async () => {
      const res = await h.call('GET', `/status/${init.body.sessionId}`);
      return res.body.status === 'CONNECTED' ? res.body : undefined;
    });
    expect(status.phoneNumber).toBe(phone);
  });

  it('sends to a contact: inbox once, status SENT → DELIVERED → READ', async () => {
    const sent = await h.call('POST', '/send', {
      sessionId,
      to: `+${CONTACT}`,
      message: 'Hello from the runner',
    });
    expect(sent.status).toBe(202);
    const entry = await h.waitFor('the contact inbox', () =>
      h.sim.inbox(CONTACT).find((m) => m.text === 'Hello from the runner'),
    );
    await h.waitFor(
      'DELIVERED',
      async () => (await h.call('GET', `/messages/${sent.body.messageId}`)).body.status === 'DELIVERED',
    );
    h.sim.markRead(CONTACT, entry.id);
    const read = await h.waitFor('READ', async () => {
      const res = await h.call('GET', `/messages/${sent.body.messageId}`);
      return res.body.status === 'READ' ? res.body : undefined;
    });
    expect(read.waMessageId).toBe(entry.id);
  });

  it('publishes what a contact writes to incoming.fifo', async () => {
    await h.sim.sendText(CONTACT, PHONE, 'Hi bot');
    const [received] = await h.waitFor('incoming', async () => {
      const batch = await h.incoming();
      return batch.length ? batch : undefined;
    });
    expect(received).toMatchObject({
      type: 'message.received',
      sessionId,
      chatbotId: 'runner-bot',
      chat: `${CONTACT}@s.whatsapp.net`,
      text: 'Hi bot',
    });
  });

  it('comes back CONNECTED after a graceful restart, without a new QR and without a replacement', async () => {
    const before = (await h.sessions.get(sessionId))?.connectedAt ?? '';
    await runner?.shutdown();
    await h.sim.sendText(CONTACT, PHONE, 'while the runner was down');
    runner = await startInProcess();
    await h.waitFor('CONNECTED after restart', async () => {
      const s = await h.sessions.get(sessionId);
      return s?.status === 'CONNECTED' && (s.connectedAt ?? '') > before;
    });
    const device = h.sim.stats().devices.find((d) => d.jid.startsWith(PHONE));
    expect(device?.replacements).toBe(0);
    expect((await h.sessions.get(sessionId))?.qr).toBeUndefined();
    await h.waitFor('the message queued while down', async () =>
      (await h.incoming()).find((m) => m.text === 'while the runner was down'),
    );
    await h.sim.sendText(CONTACT, PHONE, 'after restart');
    await h.waitFor('incoming after restart', async () =>
      (await h.incoming()).find((m) => m.text === 'after restart'),
    );
  });

  it('drains on SIGTERM: exits 0, releases the lease, and leaves the session for the next runner', async () => {
    const listeners = new Map<string, () => void>();
    let exitCode: number | undefined;
    await runner?.shutdown();
    const before = (await h.sessions.get(sessionId))?.connectedAt ?? '';
    runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), {
      socketOverrides: FAST_SOCKET,
      process: {
        on: (signal, listener) => listeners.set(signal, listener),
        exit: (code) => (exitCode = code),
      },
    });
    await h.waitFor(
      'reconnected',
      async () => ((await h.sessions.get(sessionId))?.connectedAt ?? '') > before,
    );
    const started = Date.now();
    listeners.get('SIGTERM')?.();
    await h.waitFor('exit', () => exitCode !== undefined);
    expect(exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    const health = await fetch(`http://127.0.0.1:${runner?.healthPort}/healthz`).catch(() => undefined);
    expect(health).toBeUndefined();
    const leases = new DynamoLeaseStore(
      new DynamoTable(h.aws.clients.dynamo, h.runnerEnv.LEASES_TABLE as string),
    );
    expect((await leases.get(0))?.expiresAt).toBe(0);
    expect((await h.sessions.get(sessionId))?.status).toBe('CONNECTED');
    runner = undefined;
  });
});
