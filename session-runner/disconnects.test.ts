import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startSimulator } from '#local/simulator/index.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';
import { installWhatsAppTrust } from './whatsapp-trust.ts';

// Each disconnect code the simulator can send, and what the runner makes of it (docs/architecture.md, "Disconnects").

let h: Harness;
let runner: Runner;
let phoneSeq = 4915100000100;

beforeAll(async () => {
  h = await startHarness();
  runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), { socketOverrides: FAST_SOCKET });
});
afterAll(async () => {
  await runner?.shutdown();
  await h?.close();
});

/** A new chatbot linked to a new phone number; resolves with its session id and phone. */
const linked = async () => {
  const phone = String(phoneSeq++);
  const { body } = await h.call('POST', '/init', { chatbotId: `bot-${phone}` });
  const qr = await h.waitFor('a QR', async () => (await h.sessions.get(body.sessionId))?.qr);
  await h.sim.scanQr(phone, qr);
  await h.waitFor('CONNECTED', async () => (await h.sessions.get(body.sessionId))?.status === 'CONNECTED');
  return { sessionId: body.sessionId as string, phone };
};
const authObjects = async (sessionId: string) => (await runner.objects.list(`sessions/${sessionId}/`)).length;
const connectedAgain = (sessionId: string, after: string) =>
  h.waitFor('reconnected', async () => {
    const s = await h.sessions.get(sessionId);
    return s?.status === 'CONNECTED' && (s.connectedAt ?? '') > after;
  });

describe('disconnect codes', () => {
  it.each([515, 408, 428, 503])(
    'reconnects after %s without a new QR',
    async (code) => {
      const { sessionId, phone } = await linked();
      const before = (await h.sessions.get(sessionId))?.connectedAt ?? '';
      expect(h.sim.disconnect(phone, code as never)).toBe(1);
      await connectedAgain(sessionId, before);
      expect((await h.sessions.get(sessionId))?.qr).toBeUndefined();
    },
    60_000,
  );

  it('stops on 440 (replaced) and records it', async () => {
    const { sessionId, phone } = await linked();
    h.sim.disconnect(phone, 440);
    const s = await h.waitFor('DISCONNECTED', async () => {
      const r = await h.sessions.get(sessionId);
      return r?.status === 'DISCONNECTED' ? r : undefined;
    });
    expect(s.lastError).toBe('CONNECTION_REPLACED');
    expect(await authObjects(sessionId)).toBeGreaterThan(0);
  }, 60_000);

  it.each([
    [401, 'LOGGED_OUT'],
    [403, 'FORBIDDEN'],
  ])(
    'deletes the auth state and shows LOGGED_OUT on %s',
    async (code, lastError) => {
      const { sessionId, phone } = await linked();
      h.sim.disconnect(phone, code as never);
      const s = await h.waitFor('LOGGED_OUT', async () => {
        const r = await h.sessions.get(sessionId);
        return r?.status === 'LOGGED_OUT' ? r : undefined;
      });
      expect(s).toMatchObject({ lastError });
      expect(s.phoneNumber).toBeUndefined();
      expect(await authObjects(sessionId)).toBe(0);
    },
    60_000,
  );

  it('stops on 405 (client version refused) and comes back with the next runner (a new version deployed)', async () => {
    const { sessionId, phone } = await linked();
    h.sim.disconnect(phone, 405);
    const s = await h.waitFor('DISCONNECTED', async () => {
      const r = await h.sessions.get(sessionId);
      return r?.status === 'DISCONNECTED' ? r : undefined;
    });
    expect(s.lastError).toBe('CLIENT_VERSION_REJECTED');
    await runner.shutdown();
    runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), { socketOverrides: FAST_SOCKET });
    await connectedAgain(sessionId, s.connectedAt ?? '');
  }, 60_000);

  it('logs out on request: the device is unlinked, the auth state deleted, a re-init shows a new QR', async () => {
    const { sessionId, phone } = await linked();
    const res = await h.call('POST', '/disconnect', { sessionId, logout: true });
    expect(res.status).toBe(202);
    await h.waitFor('LOGGED_OUT', async () => (await h.sessions.get(sessionId))?.status === 'LOGGED_OUT');
    expect(await authObjects(sessionId)).toBe(0);
    await h.waitFor('device removed', () => !h.sim.stats().devices.some((d) => d.jid.startsWith(phone)));
    const again = await h.call('POST', '/init', { chatbotId: `bot-${phone}` });
    expect(again.body.sessionId).toBe(sessionId);
    await h.waitFor('a new QR', async () => (await h.sessions.get(sessionId))?.status === 'QR_READY');
  }, 60_000);

  it('logs out a session no runner held when the command came: it opens it just to unlink the device', async () => {
    const { sessionId, phone } = await linked();
    // shutdown() lets its last long poll end and gives back what it got: the command below is not lost in it.
    await runner.shutdown();
    expect((await h.call('POST', '/disconnect', { sessionId, logout: true })).status).toBe(202);
    runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), { socketOverrides: FAST_SOCKET });
    await h.waitFor('LOGGED_OUT', async () => (await h.sessions.get(sessionId))?.status === 'LOGGED_OUT');
    await h.waitFor(
      'device unlinked at the phone',
      () => !h.sim.stats().devices.some((d) => d.jid.startsWith(phone)),
    );
    expect(await authObjects(sessionId)).toBe(0);
  }, 60_000);

  it('closes the socket on a plain disconnect and keeps the device linked for the next start', async () => {
    const { sessionId } = await linked();
    await h.call('POST', '/disconnect', { sessionId });
    await h.waitFor('DISCONNECTED', async () => (await h.sessions.get(sessionId))?.status === 'DISCONNECTED');
    expect(await authObjects(sessionId)).toBeGreaterThan(0);
    const before = (await h.sessions.get(sessionId))?.connectedAt ?? '';
    await h.call('POST', '/init', { chatbotId: (await h.sessions.get(sessionId))?.chatbotId });
    await connectedAgain(sessionId, before);
  }, 60_000);

  it('gives up on a QR nobody scans: DISCONNECTED with QR_TIMEOUT', async () => {
    await runner.shutdown();
    runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), {
      socketOverrides: { ...FAST_SOCKET, qrTimeout: 1000 },
    });
    const { body } = await h.call('POST', '/init', { chatbotId: 'nobody-scans' });
    await h.waitFor('a QR', async () => (await h.sessions.get(body.sessionId))?.status === 'QR_READY');
    const s = await h.waitFor('DISCONNECTED', async () => {
      const r = await h.sessions.get(body.sessionId);
      return r?.status === 'DISCONNECTED' ? r : undefined;
    });
    expect(s).toMatchObject({ lastError: 'QR_TIMEOUT' });
    expect(s.qr).toBeUndefined();
    const qr = await h.call('GET', `/qr-code/${body.sessionId}`);
    expect([qr.status, qr.body.error.code]).toEqual([409, 'QR_NOT_READY']);
  }, 60_000);

  it('refuses a server whose certificate chain does not lead to the trusted root', async () => {
    const impostor = await startSimulator({ port: 0 });
    const env = { ...h.runnerEnv, WHATSAPP_WS_URL: impostor.url, RUNNER_SHARDS: 'all' };
    // The trust stays on the real simulator's root; the impostor signs with its own.
    const refused: string[] = [];
    installWhatsAppTrust({
      waWebSocketUrl: impostor.url,
      simulatorRootKeyHex: h.sim.rootPublicKeyHex,
      onRefused: (e) => refused.push(e.code),
    });
    await runner.shutdown();
    runner = await startRunner(loadConfig(RunnerEnv, env), { socketOverrides: FAST_SOCKET });
    const { body } = await h.call('POST', '/init', { chatbotId: 'impostor-bot' });
    // Baileys retries with backoff: two refusals show the runner kept trying and never got further.
    await h.waitFor('two refused handshakes', () => refused.length >= 2);
    expect([...new Set(refused)]).toEqual(['UNTRUSTED_ROOT']);
    const s = await h.sessions.get(body.sessionId);
    // The runner is trying (the session is open) but never gets past the handshake to a QR.
    expect(runner.supervisor.status()[0]?.sessions).toBeGreaterThanOrEqual(1);
    expect(s?.status).toBe('CONNECTING');
    expect(s?.qr).toBeUndefined();
    expect(impostor.stats().devices).toHaveLength(0);
    await impostor.stop();
  }, 60_000);
});
