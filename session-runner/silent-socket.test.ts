import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';
import { installWhatsAppTrust } from './whatsapp-trust.ts';

// A socket that is open but silent: the WhatsApp server (the simulator as its own process) freezes.
// The runner must notice, go back to CONNECTING, and reconnect once the server answers again.

let h: Harness;
let runner: Runner | undefined;
let server: ChildProcess;
let httpUrl: string;
const PHONE = '4915100000333';

beforeAll(async () => {
  h = await startHarness();
  server = spawn(process.execPath, ['--import', 'tsx', 'local/simulator/main.ts'], {
    env: { ...process.env, SIMULATOR_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const line = await new Promise<string>((resolve, reject) => {
    server.stdout?.on('data', (c) => {
      out += c;
      const m = /simulator: ws=(\S+) rootKey=([0-9a-f]{64})/.exec(out);
      if (m) resolve(m[0]);
    });
    server.once('exit', () => reject(new Error(`simulator exited: ${out}`)));
  });
  const [, ws, rootKey] = /ws=(\S+) rootKey=(\S+)/.exec(line) as RegExpExecArray;
  httpUrl = (ws as string).replace(/^ws/, 'http').replace(/\/ws\/chat$/, '');
  installWhatsAppTrust({ waWebSocketUrl: ws as string, simulatorRootKeyHex: rootKey });
  const env = {
    ...h.runnerEnv,
    WHATSAPP_WS_URL: ws as string,
    WHATSAPP_SIMULATOR_ROOT_KEY: rootKey as string,
  };
  // Silence is noticed after two keep-alive rounds: 2.5 s rounds instead of 5 s halve the wait.
  runner = await startRunner(loadConfig(RunnerEnv, env), {
    socketOverrides: { ...FAST_SOCKET, keepAliveIntervalMs: 2_500 },
  });
}, 60_000);

afterAll(async () => {
  await runner?.shutdown();
  server?.kill('SIGCONT');
  server?.kill('SIGKILL');
  await h?.close();
});

describe('a silent socket', () => {
  it('is noticed, shown as CONNECTING, and reconnected without a QR once the server answers again', async () => {
    const { body } = await h.call('POST', '/init', { chatbotId: 'silent-bot' });
    const qr = await h.waitFor('a QR', async () => (await h.sessions.get(body.sessionId))?.qr);
    const scan = await fetch(`${httpUrl}/phones/${PHONE}/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qr }),
    });
    expect(scan.status).toBe(200);
    await h.waitFor('CONNECTED', async () => (await h.sessions.get(body.sessionId))?.status === 'CONNECTED');
    const before = (await h.sessions.get(body.sessionId))?.connectedAt ?? '';

    server.kill('SIGSTOP');
    await h.waitFor(
      'CONNECTING while the server is silent',
      async () => (await h.sessions.get(body.sessionId))?.status === 'CONNECTING',
      30_000,
    );
    server.kill('SIGCONT');
    const back = await h.waitFor(
      'CONNECTED again',
      async () => {
        const s = await h.sessions.get(body.sessionId);
        return s?.status === 'CONNECTED' && (s.connectedAt ?? '') > before ? s : undefined;
      },
      45_000,
    );
    expect(back.qr).toBeUndefined();
  }, 120_000);
});
