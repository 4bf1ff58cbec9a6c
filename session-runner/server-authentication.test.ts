import { Curve } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CERTIFICATE_FLAWS,
  type CertificateFlaw,
  type Simulator,
  start as startSimulator,
} from '#local/simulator/index.ts';
import { startTcpSwitch, type TcpSwitch } from '#local/simulator/testing/tcp-switch.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { type Runner, startRunner } from './runner.ts';
import type { ServerRefusalCode, ServerRefusedError } from './server-identity-check.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';
import { installWhatsAppTrust } from './whatsapp-trust.ts';

// One runner, configured once, talks to `ws://127.0.0.1:<switch>/ws/chat`; behind that URL the test
// puts simulators whose chains are signed by the root the runner trusts but are wrong in one
// property each. The runner must refuse each, with the reason, and never get as far as a QR.

const root = Curve.generateKeyPair();
const refused: ServerRefusedError[] = [];
let h: Harness;
let relay: TcpSwitch;
let runner: Runner;
let current: Simulator | undefined;

beforeAll(async () => {
  h = await startHarness();
  current = await startSimulator({ rootKeyPair: root });
  relay = await startTcpSwitch(current.port);
  const url = `ws://127.0.0.1:${relay.port}/ws/chat`;
  installWhatsAppTrust({
    waWebSocketUrl: url,
    simulatorRootKeyHex: current.rootPublicKeyHex,
    onRefused: (e) => refused.push(e),
  });
  const env = { ...h.runnerEnv, WHATSAPP_WS_URL: url, WHATSAPP_SIMULATOR_ROOT_KEY: current.rootPublicKeyHex };
  runner = await startRunner(loadConfig(RunnerEnv, env), { socketOverrides: FAST_SOCKET });
}, 60_000);
afterAll(async () => {
  await runner?.shutdown();
  await relay?.close();
  await current?.stop();
  await h?.close();
});

/** Puts a simulator presenting `flaw` (none: a correct chain) behind the runner's URL. */
const serve = async (flaw: CertificateFlaw | undefined) => {
  const next = await startSimulator({ rootKeyPair: root, certificateFlaw: flaw });
  relay.target(next.port);
  await current?.stop();
  current = next;
  refused.length = 0;
  return next;
};

/** Stops a session so that it does not keep knocking on the next test's server. */
const endSession = async (sessionId: string) => {
  expect((await h.call('POST', '/disconnect', { sessionId })).status).toBe(202);
  await h.waitFor('DISCONNECTED', async () => (await h.sessions.get(sessionId))?.status === 'DISCONNECTED');
};

const EXPECTED: Record<CertificateFlaw, ServerRefusalCode> = {
  'leaf-key-mismatch': 'LEAF_KEY_MISMATCH',
  'leaf-issuer-serial': 'ISSUER_SERIAL_MISMATCH',
  'intermediate-issuer-serial': 'ISSUER_SERIAL_MISMATCH',
  'leaf-expired': 'CERTIFICATE_EXPIRED',
  'leaf-not-yet-valid': 'CERTIFICATE_NOT_YET_VALID',
  'intermediate-expired': 'CERTIFICATE_EXPIRED',
};

describe('the runner authenticates the WhatsApp server', () => {
  for (const flaw of CERTIFICATE_FLAWS) {
    it(`refuses a server whose chain has the flaw "${flaw}" and never shows a QR`, async () => {
      const sim = await serve(flaw);
      const { body } = await h.call('POST', '/init', { chatbotId: `refuse-${flaw}` });
      // Baileys retries with backoff; two refusals for the reason show it is not a one-off.
      await h.waitFor('two refusals', () => refused.filter((e) => e.code === EXPECTED[flaw]).length >= 2);
      const session = await h.sessions.get(body.sessionId);
      expect(session?.status).toBe('CONNECTING');
      expect(session?.qr).toBeUndefined();
      expect(sim.stats().devices).toEqual([]);
      await endSession(body.sessionId);
    }, 60_000);
  }

  it('links with a server whose chain is correct and valid now (same runner, same root)', async () => {
    await serve(undefined);
    const { body } = await h.call('POST', '/init', { chatbotId: 'accept-good-chain' });
    const qr = await h.waitFor('a QR', async () => (await h.sessions.get(body.sessionId))?.qr);
    expect(qr).toMatch(/^https:\/\/wa\.me\//);
    expect(refused).toEqual([]);
  }, 60_000);
});
