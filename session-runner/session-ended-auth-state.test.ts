import { EventEmitter } from 'node:events';
import { Boom } from '@hapi/boom';
import type { AuthenticationState } from '@whiskeysockets/baileys';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '#shared/logger.ts';
import { aSession } from '#shared/testing/builders.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { DurableAuthState } from './auth-state/durable-auth-state.ts';
import { type SessionContext, WhatsAppSession } from './session.ts';

// WhatsApp ends a session without a logout (440 replaced) and a `start` opens the next instance of it
// under the same fence within a minute: the ended instance's idle compaction must not fire into the
// next one's journal (it took the same sequence number and deleted the creds below it).

interface FakeSocket {
  ev: EventEmitter;
  ws: EventEmitter;
  user: { id: string };
  auth: AuthenticationState;
  end(error?: Error): void;
}

const sockets: FakeSocket[] = [];

vi.mock('@whiskeysockets/baileys', async (importOriginal) => {
  const original = await importOriginal<typeof import('@whiskeysockets/baileys')>();
  const makeSocket = (config: { auth: AuthenticationState }): FakeSocket => {
    const sock: FakeSocket = {
      auth: config.auth,
      ev: new EventEmitter(),
      ws: new EventEmitter(),
      user: { id: '4915100000001:1@s.whatsapp.net' },
      end: () => undefined,
    };
    sockets.push(sock);
    return sock;
  };
  return { ...original, default: makeSocket };
});

const logger = createLogger('test');
logger.setLogLevel('SILENT');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  sockets.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

const lastSocket = () => sockets.at(-1) as FakeSocket;
const sessionKey = (id: number) => ({ session: { 'alice.0': Buffer.from([id]) } });

describe('a session WhatsApp ended', () => {
  it('leaves the journal of the next instance under the same fence alone: it stays linked with its keys', async () => {
    const sessions = new InMemorySessionStore();
    const record = aSession({ status: 'CONNECTED' });
    await sessions.create(record);
    const objects = new InMemoryObjectStore();
    const ctx: SessionContext = {
      sessions,
      messages: new InMemoryMessageStore(),
      objects,
      publishIncoming: async () => undefined,
      metrics: () => undefined,
      logger,
      timers: {
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      },
      now: Date.now,
      waWebSocketUrl: 'ws://127.0.0.1:1',
      sendMinIntervalMs: 0,
      backoff: { baseMs: 1_000, capMs: 16_000, random: () => 1 },
    };
    const ended: WhatsAppSession[] = [];
    const instance = () =>
      new WhatsAppSession(record, 1, ctx, { mayAct: () => true, onEnded: (s) => void ended.push(s) });

    const first = instance();
    await first.start();
    const sock = lastSocket();
    // Linked, then 4 key commits: a journal long enough for the idle compaction (60 s) to be armed.
    sock.auth.creds.me = { id: sock.user.id };
    sock.ev.emit('connection.update', { connection: 'open' });
    sock.ws.emit('frame');
    sock.ev.emit('creds.update', {});
    for (let i = 1; i <= 4; i++) await sock.auth.keys.set(sessionKey(i));
    sock.ev.emit('connection.update', {
      connection: 'close',
      lastDisconnect: { error: new Boom('Connection Closed', { statusCode: 440 }), date: new Date() },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toEqual([first]);

    await vi.advanceTimersByTimeAsync(30_000);
    const next = instance(); // a `start` command: same fence, no takeover
    await next.start();
    await lastSocket().auth.keys.set(sessionKey(99));
    await vi.advanceTimersByTimeAsync(31_000); // past the first instance's idle time

    const reloaded = await DurableAuthState.load({ store: objects, sessionId: record.sessionId, fence: 2 });
    expect(reloaded.linked).toBe(true);
    const keys = await reloaded.state.keys.get('session', ['alice.0']);
    expect([...(keys['alice.0'] as unknown as Buffer)]).toEqual([99]);
  });
});
