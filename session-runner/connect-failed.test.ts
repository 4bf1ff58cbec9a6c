import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';

// `npm start` without network access: WhatsApp cannot be reached, and no QR ever existed.

let h: Harness;
let runner: Runner;
let refuser: Server;
let attempts = 0;

beforeAll(async () => {
  h = await startHarness();
  // A loopback port that drops every connection at once, before any frame: WhatsApp out of reach.
  refuser = createServer((socket) => {
    attempts += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
  const unreachable = `ws://127.0.0.1:${(refuser.address() as { port: number }).port}/ws/chat`;
  runner = await startRunner(loadConfig(RunnerEnv, { ...h.runnerEnv, WHATSAPP_WS_URL: unreachable }), {
    socketOverrides: FAST_SOCKET,
  });
});
afterAll(async () => {
  await runner?.shutdown();
  refuser?.close();
  await h?.close();
});

describe('a session that cannot reach WhatsApp', () => {
  it('stays CONNECTING with lastError CONNECT_FAILED and keeps retrying, never QR_TIMEOUT', async () => {
    const { body } = await h.call('POST', '/init', { chatbotId: 'offline-bot' });
    const failed = await h.waitFor('CONNECT_FAILED', async () => {
      const s = await h.sessions.get(body.sessionId);
      return s?.lastError === 'CONNECT_FAILED' ? s : undefined;
    });
    expect(failed.status).toBe('CONNECTING');
    // Retried with backoff, and every failure is the same verdict.
    await h.waitFor('a retry', async () => attempts >= 2);
    expect(await h.sessions.get(body.sessionId)).toMatchObject({
      status: 'CONNECTING',
      lastError: 'CONNECT_FAILED',
    });
  }, 60_000);
});
