import { EventEmitter } from 'node:events';
import { Boom } from '@hapi/boom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '#shared/logger.ts';
import { aSession } from '#shared/testing/builders.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { type SessionContext, WhatsAppSession } from './session.ts';

// One session's life cycle on fake timers, with Baileys' socket replaced by a fake the test drives
// (open, QR, close, silence). Backoff growth and its reset after a stable open are covered in
// runner-life-cycle.test.ts, the send path in session-send.test.ts; this file covers the ends
// (stop, halt, a late event after the end), the send-wait and the watchdog.

interface FakeSocket {
  ev: EventEmitter;
  ws: EventEmitter;
  user: { id: string };
  ended: boolean;
  loggedOut: boolean;
  /** The auth state Baileys was given: it sets `creds.me` once the device is linked. */
  auth: { creds: { me?: { id: string } } };
  end(error?: Error): void;
  logout(): Promise<void>;
  requestPairingCode(phone: string): Promise<string>;
}

const sockets: FakeSocket[] = [];

vi.mock('@whiskeysockets/baileys', async (importOriginal) => {
  const original = await importOriginal<typeof import('@whiskeysockets/baileys')>();
  const makeSocket = (config: { auth: FakeSocket['auth'] }): FakeSocket => {
    const sock: FakeSocket = {
      auth: config.auth,
      ev: new EventEmitter(),
      ws: new EventEmitter(),
      user: { id: '4915100000001:1@s.whatsapp.net' },
      ended: false,
      loggedOut: false,
      // As Baileys does: ending a socket reports its close at once, with the error it was ended with.
      end: (error) => {
        if (sock.ended) return;
        sock.ended = true;
        sock.ev.emit('connection.update', {
          connection: 'close',
          lastDisconnect: { error, date: new Date() },
        });
      },
      logout: async () => {
        sock.loggedOut = true;
      },
      requestPairingCode: async () => 'ABCD1234',
    };
    sockets.push(sock);
    return sock;
  };
  return { ...original, default: makeSocket };
});

const logger = createLogger('test');
logger.setLogLevel('SILENT');

const KEEP_ALIVE_MS = 10_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(Date.parse('2026-01-01T12:00:00.000Z'));
  sockets.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

const lastSocket = () => sockets.at(-1) as FakeSocket;
/** Opens the socket of a linked device (Baileys sets `creds.me` when it logs in). */
const open = (sock = lastSocket()) => {
  sock.auth.creds.me = { id: sock.user.id };
  sock.ev.emit('connection.update', { connection: 'open' });
};
const close = (code: number, sock = lastSocket()) =>
  sock.ev.emit('connection.update', {
    connection: 'close',
    lastDisconnect: { error: new Boom('Connection Closed', { statusCode: code }), date: new Date() },
  });

/** A started session on fake sockets; `writes` lists every status write it attempted, in order. */
const started = async (o: { status?: 'CONNECTING' | 'CONNECTED' } = {}) => {
  const sessions = new InMemorySessionStore();
  const record = aSession({ status: o.status ?? 'CONNECTING' });
  await sessions.create(record);
  const writes: string[] = [];
  const transition = sessions.transition.bind(sessions);
  sessions.transition = (id, t) => {
    writes.push(t.to);
    return transition(id, t);
  };
  const ended: WhatsAppSession[] = [];
  const ctx: SessionContext = {
    sessions,
    messages: new InMemoryMessageStore(),
    objects: new InMemoryObjectStore(),
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
    socketOverrides: { keepAliveIntervalMs: KEEP_ALIVE_MS },
  };
  const session = new WhatsAppSession(record, 1, ctx, {
    mayAct: () => true,
    onEnded: (s) => void ended.push(s),
  });
  await session.start();
  const stored = async () => (await sessions.get(record.sessionId))?.status;
  return { session, sessions, writes, ended, stored };
};

describe('the session life cycle', () => {
  it('goes loading → connecting → qr → open → backoff → connecting as its socket reports', async () => {
    const sessions = new InMemorySessionStore();
    const record = aSession({ status: 'CONNECTING' });
    await sessions.create(record);
    const session = new WhatsAppSession(record, 1, {
      sessions,
      messages: new InMemoryMessageStore(),
      objects: new InMemoryObjectStore(),
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
    });
    expect(session.state).toBe('loading');
    await session.start();
    expect(session.state).toBe('connecting');
    lastSocket().ev.emit('connection.update', { qr: 'qr-1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(session.state).toBe('qr');
    expect((await sessions.get(record.sessionId))?.status).toBe('QR_READY');
    open();
    await vi.advanceTimersByTimeAsync(0);
    expect(session.state).toBe('open');
    expect(session.connected).toBe(true);
    expect((await sessions.get(record.sessionId))?.status).toBe('CONNECTED');
    lastSocket().ws.emit('frame');
    close(428);
    expect(session.state).toBe('backoff');
    expect(session.connected).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets).toHaveLength(2);
    expect(session.state).toBe('connecting');
    session.halt();
  });

  it('ignores the events of a socket it replaced', async () => {
    const { session, writes } = await started();
    const first = lastSocket();
    first.ws.emit('frame');
    close(428, first);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets).toHaveLength(2);
    const before = writes.length;
    open(first);
    close(428, first);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(session.state).toBe('connecting');
    expect(sockets).toHaveLength(2);
    expect(writes.slice(before)).toEqual([]);
    session.halt();
  });
});

describe('a sticky 515 (restart required)', () => {
  /** The current socket reaches WhatsApp, logs in and is told to restart. */
  const restart = () => {
    lastSocket().ws.emit('frame');
    open();
    close(515);
  };

  it('reconnects at once after the first 515, then backs off, and at once again after a stable connection', async () => {
    const { session } = await started({ status: 'CONNECTED' });
    restart();
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets).toHaveLength(2); // the first one: at once (after pairing WhatsApp always sends one)
    restart();
    await vi.advanceTimersByTimeAsync(1_999);
    expect(sockets).toHaveLength(2); // the second in a row: backoff (base 1 s, attempt 1, no jitter)
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(3);
    restart();
    await vi.advanceTimersByTimeAsync(3_999);
    expect(sockets).toHaveLength(3); // and growing
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(4);
    lastSocket().ws.emit('frame');
    open();
    await vi.advanceTimersByTimeAsync(30_000); // stayed up: the next 515 is a first one again
    close(515);
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets).toHaveLength(5);
    session.halt();
  });

  it('counts only 515s in a row: a 515 after another loss is at once', async () => {
    const { session } = await started({ status: 'CONNECTED' });
    lastSocket().ws.emit('frame');
    close(428);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets).toHaveLength(2);
    restart();
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets).toHaveLength(3);
    session.halt();
  });
});

describe('waitConnected', () => {
  it('resolves true when the socket opens', async () => {
    const { session } = await started();
    let result: boolean | undefined;
    void session.waitConnected(10_000).then((ok) => {
      result = ok;
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(result).toBeUndefined();
    open();
    await vi.advanceTimersByTimeAsync(0);
    expect(result).toBe(true);
    expect(await session.waitConnected(1)).toBe(true); // already open: at once
    session.halt();
  });

  it('resolves false after its timeout when the socket never opens, not before', async () => {
    const { session } = await started();
    let result: boolean | undefined;
    void session.waitConnected(10_000).then((ok) => {
      result = ok;
    });
    await vi.advanceTimersByTimeAsync(9_999);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(result).toBe(false);
    session.halt();
  });
});

describe('the ends', () => {
  it('halt() during backoff cancels the retry: no socket is opened and nothing is written after it', async () => {
    const { session, writes, ended } = await started({ status: 'CONNECTED' });
    open();
    await vi.advanceTimersByTimeAsync(0);
    close(428); // no frame: it never reached WhatsApp (CONNECT_FAILED), backoff 1 s
    expect(session.state).toBe('backoff');
    await vi.advanceTimersByTimeAsync(0);
    const before = writes.length;
    session.halt();
    expect(session.state).toBe('ended');
    expect(session.ended).toBe(true);
    expect(vi.getTimerCount()).toBe(0); // the retry timer is gone, not merely ignored when it fires
    await vi.advanceTimersByTimeAsync(120_000);
    expect(sockets).toHaveLength(1);
    expect(writes.slice(before)).toEqual([]);
    expect(ended).toEqual([]); // halt is the runner's own act: it already dropped the session
  });

  it('stop() while connecting ends the socket, writes DISCONNECTED once, and its late open does nothing', async () => {
    const { session, writes, ended, stored } = await started();
    const sock = lastSocket();
    await session.stop(false);
    expect(sock.ended).toBe(true);
    expect(session.state).toBe('ended');
    expect(await stored()).toBe('DISCONNECTED');
    expect(ended).toEqual([session]);
    const before = writes.length;
    open(sock);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(session.connected).toBe(false);
    expect(sockets).toHaveLength(1);
    expect(writes.slice(before)).toEqual([]);
    expect(await stored()).toBe('DISCONNECTED');
  });

  it('is final: after halt(), the socket opening, showing a QR or closing changes and writes nothing', async () => {
    const { session, writes } = await started();
    const sock = lastSocket();
    session.halt();
    expect(sock.ended).toBe(true);
    const before = writes.length;
    sock.ev.emit('connection.update', { qr: 'late-qr' });
    open(sock);
    close(428, sock);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(session.state).toBe('ended');
    expect(sockets).toHaveLength(1);
    expect(writes.slice(before)).toEqual([]);
    const waited = session.waitConnected(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await waited).toBe(false);
  });

  it('a stop after halt() writes nothing: the lease is gone', async () => {
    const { session, writes, stored } = await started({ status: 'CONNECTED' });
    open();
    await vi.advanceTimersByTimeAsync(0);
    session.halt();
    const before = writes.length;
    await session.stop(false);
    expect(writes.slice(before)).toEqual([]);
    expect(await stored()).toBe('CONNECTED');
  });

  it('a logout after WhatsApp ended the session (440) still records LOGGED_OUT', async () => {
    const { session, ended, stored } = await started({ status: 'CONNECTED' });
    open();
    await vi.advanceTimersByTimeAsync(0);
    lastSocket().ws.emit('frame');
    close(440);
    expect(session.state).toBe('ended');
    await vi.advanceTimersByTimeAsync(0);
    expect(await stored()).toBe('DISCONNECTED');
    await session.stop(true);
    expect(session.state).toBe('ended');
    expect(await stored()).toBe('LOGGED_OUT');
    expect(sockets).toHaveLength(1);
    expect(ended).toEqual([session, session]);
  });
});

describe('a status write that fails (the store down)', () => {
  /** Makes the store refuse status writes with an error while `down.now` is set. */
  const failing = (sessions: InMemorySessionStore) => {
    const down = { now: true, tries: 0 };
    const transition = sessions.transition.bind(sessions);
    sessions.transition = (id, t) => {
      down.tries++;
      return down.now ? Promise.reject(new Error('DynamoDB unavailable')) : transition(id, t);
    };
    return down;
  };

  it('is tried again with backoff until it is stored: the heartbeat alone would never repair it', async () => {
    const { session, sessions, stored } = await started();
    await vi.advanceTimersByTimeAsync(0);
    const down = failing(sessions);
    lastSocket().ws.emit('frame');
    open();
    await vi.advanceTimersByTimeAsync(0);
    expect(session.connected).toBe(true);
    expect(await stored()).toBe('CONNECTING'); // the CONNECTED write failed
    await sessions.touch(session.sessionId, 1, new Date().toISOString()); // a heartbeat: status unchanged
    expect(await stored()).toBe('CONNECTING');
    await vi.advanceTimersByTimeAsync(1_000 + 2_000); // two more failures, 1 s then 2 s apart
    expect(down.tries).toBe(3);
    down.now = false;
    await vi.advanceTimersByTimeAsync(3_999);
    expect(await stored()).toBe('CONNECTING');
    await vi.advanceTimersByTimeAsync(1);
    expect(await stored()).toBe('CONNECTED');
    expect((await sessions.get(session.sessionId))?.connectedAt).toBeDefined();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(down.tries).toBe(4); // stored: no more tries
    session.halt();
  });

  it('is not tried again once a newer write replaced it', async () => {
    const { session, sessions, stored } = await started();
    await vi.advanceTimersByTimeAsync(0);
    const down = failing(sessions);
    lastSocket().ev.emit('connection.update', { qr: 'qr-1' });
    await vi.advanceTimersByTimeAsync(0); // QR_READY failed
    down.now = false;
    open();
    await vi.advanceTimersByTimeAsync(0);
    expect(await stored()).toBe('CONNECTED');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(await stored()).toBe('CONNECTED');
    expect(down.tries).toBe(2);
    session.halt();
  });

  it('is dropped by halt(): nothing is written after the lease is gone', async () => {
    const { session, sessions } = await started();
    await vi.advanceTimersByTimeAsync(0);
    const down = failing(sessions);
    open();
    await vi.advanceTimersByTimeAsync(0);
    session.halt();
    down.now = false;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(down.tries).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('still stores the last word of a stopped session, which has left the registry', async () => {
    const { session, sessions, stored, ended } = await started({ status: 'CONNECTED' });
    open();
    await vi.advanceTimersByTimeAsync(0);
    const down = failing(sessions);
    await session.stop(false);
    expect(ended).toEqual([session]);
    expect(await stored()).toBe('CONNECTED');
    down.now = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await stored()).toBe('DISCONNECTED');
  });
});

describe('the silence watchdog', () => {
  it('replaces an open socket that heard nothing for two keep-alive rounds, once, and leaves a fresh one alone', async () => {
    const { session } = await started({ status: 'CONNECTED' });
    const silent = lastSocket();
    silent.ws.emit('frame');
    open(silent);
    await vi.advanceTimersByTimeAsync(2 * KEEP_ALIVE_MS + 5_000);
    expect(session.checkSilence()).toBe(false); // not past the bound yet
    await vi.advanceTimersByTimeAsync(1);
    expect(session.checkSilence()).toBe(true);
    expect(silent.ended).toBe(true);
    expect(session.state).toBe('backoff');
    expect(session.checkSilence()).toBe(false); // nothing open any more
    close(408, silent); // the silent socket's own close, reported late: ignored
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets).toHaveLength(2);
    expect(session.state).toBe('connecting');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(2);
    session.halt();
  });
});
