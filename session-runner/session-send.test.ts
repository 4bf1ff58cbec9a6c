import { EventEmitter } from 'node:events';
import { Boom } from '@hapi/boom';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { SendCommand } from '#shared/contracts/commands.ts';
import { createLogger } from '#shared/logger.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { isTransientSendError, type SessionContext, typingMsFor, WhatsAppSession } from './session.ts';
import { waMessageIdFor } from './wa-message-id.ts';

// The send path, receipts and retry requests of one session, over a fake Baileys socket: what
// goes out to WhatsApp is counted at the socket, what is recorded is read from the message store.

interface FakeSocket {
  ev: EventEmitter;
  ws: EventEmitter;
  user: { id: string };
  sent: { to: string; text: string; messageId: string }[];
  /** Answers of the next sendMessage calls, in order: an error to throw, or undefined for success. */
  failures: (Error | undefined)[];
  /** Baileys' retry-request hook, as the session configured it. */
  getMessage: (key: { id?: string }) => Promise<unknown>;
  sendMessage(to: string, content: { text: string }, options: { messageId: string }): Promise<unknown>;
  /** Read receipts and presence updates sent, in order with the sends (`read:<id>`, `composing:<to>`…). */
  manners: string[];
  /** Makes the next read-receipt call fail. */
  failRead?: boolean;
  readMessages(keys: { remoteJid: string; id: string }[]): Promise<void>;
  sendPresenceUpdate(type: string, to: string): Promise<void>;
  end(): void;
  logout(): Promise<void>;
}

const sockets: FakeSocket[] = [];

vi.mock('@whiskeysockets/baileys', async (importOriginal) => {
  const original = await importOriginal<typeof import('@whiskeysockets/baileys')>();
  const makeSocket = (config: { getMessage: FakeSocket['getMessage'] }): FakeSocket => {
    const sock: FakeSocket = {
      ev: new EventEmitter(),
      ws: new EventEmitter(),
      user: { id: '4915100000001:1@s.whatsapp.net' },
      sent: [],
      failures: [],
      getMessage: config.getMessage,
      async sendMessage(to, content, options) {
        const failure = sock.failures.shift();
        if (failure) throw failure;
        sock.sent.push({ to, text: content.text, messageId: options.messageId });
        sock.manners.push(`send:${to}`);
        return {};
      },
      manners: [],
      async readMessages(keys) {
        if (sock.failRead) throw new Error('read receipt refused');
        sock.manners.push(...keys.map((k) => `read:${k.remoteJid}:${k.id}`));
      },
      async sendPresenceUpdate(type, to) {
        sock.manners.push(`${type}:${to}`);
      },
      end: () => undefined,
      logout: async () => undefined,
    };
    sockets.push(sock);
    return sock;
  };
  return { ...original, default: makeSocket };
});

let messages: InMemoryMessageStore;
let sessions: InMemorySessionStore;
let objects: InMemoryObjectStore;
let backoffs: number[];

const context = (runnerId: string): SessionContext => ({
  sessions,
  messages,
  objects,
  publishIncoming: async () => undefined,
  metrics: () => undefined,
  logger: createLogger('test'),
  // Backoff waits run at once, recorded: the test checks they are bounded and growing.
  timers: {
    setTimeout: (fn, ms) => {
      if (ms > 0) backoffs.push(ms);
      return setImmediate(fn);
    },
    clearTimeout: (h) => clearImmediate(h as NodeJS.Immediate),
  },
  now: Date.now,
  runnerId,
  waWebSocketUrl: 'ws://127.0.0.1:1',
  sendMinIntervalMs: 0,
  backoff: { baseMs: 1000, capMs: 60_000 },
});

const record = aSession({ status: 'CONNECTING', fence: 1 });

/** A session instance of a runner (fence, id), with its fake socket opened. */
const openSession = async (fence: number, runnerId: string) => {
  const session = new WhatsAppSession(record, fence, context(runnerId));
  await session.start();
  const sock = sockets.at(-1) as FakeSocket;
  sock.ev.emit('connection.update', { connection: 'open' });
  await vi.waitFor(() => expect(session.connected).toBe(true));
  return { session, sock };
};

const queued = async (text = 'Hi there') => {
  const message = aMessage({ sessionId: record.sessionId, tenantId: record.tenantId, text });
  await messages.putIfAbsent(message);
  const command: SendCommand = {
    v: 1,
    type: 'send',
    sessionId: record.sessionId,
    commandId: message.messageId,
    messageId: message.messageId,
    to: message.to,
    text: message.text,
  } as SendCommand;
  return { message, command };
};

/** When the message's live claim was taken; undefined when nobody holds it. */
const claimedAt = async (messageId: string) =>
  (await messages.listQueued(record.sessionId, { createdBefore: '9', limit: 100 })).find(
    (q) => q.message.messageId === messageId,
  )?.claimedAt;

process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';

beforeEach(async () => {
  sockets.length = 0;
  backoffs = [];
  messages = new InMemoryMessageStore();
  sessions = new InMemorySessionStore();
  objects = new InMemoryObjectStore();
  await sessions.create(record);
});

describe('a session sending', () => {
  it('sends a queued message once under its derived WhatsApp id; a redelivered command is skipped', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    expect(await session.send(command)).toBe('sent');
    expect(await session.send(command)).toBe('skipped');
    expect(sock.sent).toEqual([
      { to: message.to, text: 'Hi there', messageId: waMessageIdFor(message.messageId) },
    ]);
    expect(await messages.get(message.messageId)).toMatchObject({
      status: 'SENT',
      waMessageId: waMessageIdFor(message.messageId),
    });
  });

  it('with manners: marks the answered message read, types for a time proportional to the reply, then sends', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    const chat = '4915100000002@s.whatsapp.net';
    const manners = { readWaMessageId: 'WA-IN-1', chat };
    expect(await session.send({ ...command, manners })).toBe('sent');
    expect(sock.manners).toEqual([
      `read:${chat}:WA-IN-1`,
      `composing:${message.to}`,
      `paused:${message.to}`,
      `send:${message.to}`,
    ]);
    expect(backoffs).toEqual([typingMsFor('Hi there')]);
    expect(typingMsFor('Hi there')).toBeLessThan(typingMsFor('x'.repeat(60)));
    expect(typingMsFor('x'.repeat(4000))).toBe(4000);
    // Without manners (an API send): no read receipt, no typing.
    const plain = await queued();
    sock.manners.length = 0;
    expect(await session.send(plain.command)).toBe('sent');
    expect(sock.manners).toEqual([`send:${plain.message.to}`]);
  });

  it('sends even when marking the message read fails', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    sock.failRead = true;
    const manners = { readWaMessageId: 'WA-IN-2', chat: message.to };
    expect(await session.send({ ...command, manners })).toBe('sent');
    expect(sock.sent).toHaveLength(1);
  });

  it("gives the command back when another runner's live claim holds the message, and sends nothing", async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    await messages.claimSend(message.messageId, {
      sessionId: record.sessionId,
      tenantId: record.tenantId,
      fence: 2,
      runnerId: 'runner-b',
      waMessageId: waMessageIdFor(message.messageId),
      now: new Date().toISOString(),
      staleBefore: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(await session.send(command)).toBe('busy');
    expect(sock.sent).toEqual([]);
    expect((await messages.get(message.messageId))?.status).toBe('QUEUED');
  });

  it('gives a parallel copy back while the send of its message is under way in this runner', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    let finish: () => void = () => undefined;
    const send = sock.sendMessage.bind(sock);
    sock.sendMessage = async (...args) => {
      await new Promise<void>((r) => {
        finish = r;
      });
      return send(...args);
    };
    const first = session.send(command);
    await vi.waitFor(async () => expect(await claimedAt(message.messageId)).toBeDefined());
    expect(await session.send(command)).toBe('busy');
    finish();
    expect(await first).toBe('sent');
    expect(sock.sent.map((s) => s.messageId)).toEqual([waMessageIdFor(message.messageId)]);
  });

  it('takes its own claim again at once when giving it back failed (store down), and sends once under the same id', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    const drop = new Error('Connection Closed');
    sock.sendMessage = async () => {
      sock.ev.emit('connection.update', {
        connection: 'close',
        lastDisconnect: { error: new Boom('closed', { statusCode: 428 }) },
      });
      throw drop;
    };
    const releaseSend = messages.releaseSend.bind(messages);
    messages.releaseSend = async () => {
      throw new Error('DynamoDB unavailable');
    };
    expect(await session.send(command)).toBe('not_connected');
    expect(await claimedAt(message.messageId)).toBeDefined(); // the claim stayed
    session.halt();
    const { session: next, sock: nextSock } = await openSession(1, 'runner-a');
    // Still down: nothing to do but give the command back.
    expect(await next.send(command)).toBe('busy');
    messages.releaseSend = releaseSend;
    expect(await next.send(command)).toBe('sent');
    expect(nextSock.sent.map((s) => s.messageId)).toEqual([waMessageIdFor(message.messageId)]);
    expect(sock.sent).toEqual([]);
  });

  it("never sends another session's message, even when the command names this session", async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const foreign = aMessage({ tenantId: record.tenantId, text: 'not yours' });
    await messages.putIfAbsent(foreign);
    const { command } = await queued();
    expect(await session.send({ ...command, messageId: foreign.messageId })).toBe('skipped');
    expect(sock.sent).toEqual([]);
    expect((await messages.get(foreign.messageId))?.status).toBe('QUEUED');
  });

  it('retries a transient rejection with growing, bounded backoff, then records SENT', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    sock.failures.push(new Boom('Timed Out', { statusCode: 408 }), new Error('ECONNRESET'));
    expect(await session.send(command)).toBe('sent');
    expect(sock.sent).toHaveLength(1);
    expect(backoffs).toEqual([1000, 2000]);
    expect((await messages.get(message.messageId))?.status).toBe('SENT');
  });

  it('records FAILED with the reason after the bounded retries, or at once for a permanent rejection', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const first = await queued();
    sock.failures.push(...[1, 2, 3].map(() => new Boom('rate-overlimit', { statusCode: 429 })));
    expect(await session.send(first.command)).toBe('failed');
    expect(backoffs).toEqual([1000, 2000]);
    expect(await messages.get(first.message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'rate-overlimit',
    });
    const second = await queued();
    sock.failures.push(new Boom('not-acceptable', { statusCode: 406 }));
    expect(await session.send(second.command)).toBe('failed');
    expect(backoffs).toHaveLength(2);
    expect(sock.sent).toEqual([]);
  });

  it('gives the claim back when the socket drops mid-send, and the next attempt sends under the same id', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    const drop = new Error('Connection Closed');
    sock.sendMessage = async () => {
      sock.ev.emit('connection.update', {
        connection: 'close',
        lastDisconnect: { error: new Boom('closed', { statusCode: 428 }) },
      });
      throw drop;
    };
    expect(await session.send(command)).toBe('not_connected');
    expect((await messages.get(message.messageId))?.status).toBe('QUEUED');
    session.halt();
    // After the reconnect, the claim is free again for this runner.
    const { session: next, sock: nextSock } = await openSession(1, 'runner-a');
    expect(await next.send(command)).toBe('sent');
    expect(nextSock.sent.map((s) => s.messageId)).toEqual([waMessageIdFor(message.messageId)]);
  });

  it('sends a message whose claim a crashed runner left behind, under the same WhatsApp id', async () => {
    const { message, command } = await queued();
    await messages.claimSend(message.messageId, {
      sessionId: record.sessionId,
      tenantId: record.tenantId,
      fence: 1,
      runnerId: 'crashed-runner',
      waMessageId: waMessageIdFor(message.messageId),
      now: new Date().toISOString(),
      staleBefore: new Date(0).toISOString(),
    });
    const { session, sock } = await openSession(2, 'runner-b');
    expect(await session.send(command)).toBe('sent');
    expect(sock.sent.map((s) => s.messageId)).toEqual([waMessageIdFor(message.messageId)]);
  });
});

describe('the SENT write and the receipt (pacing on)', () => {
  /**
   * A session pacing its sends 1 s apart on a fake clock; timers of 0.5 s and more wait until
   * `fire()`, which moves the clock on by their time.
   */
  const pacedSession = async () => {
    const held: { fn: () => void; ms: number }[] = [];
    let clock = Date.now();
    const session = new WhatsAppSession(record, 1, {
      ...context('runner-a'),
      now: () => clock,
      sendMinIntervalMs: 1000,
      timers: {
        setTimeout: (fn, ms) => (ms >= 500 ? held.push({ fn, ms }) : setImmediate(fn)),
        clearTimeout: (h) => {
          if (typeof h !== 'number') clearImmediate(h as NodeJS.Immediate);
        },
      },
    });
    await session.start();
    const sock = sockets.at(-1) as FakeSocket;
    sock.ev.emit('connection.update', { connection: 'open' });
    await vi.waitFor(() => expect(session.connected).toBe(true));
    return {
      session,
      sock,
      held,
      fire: () => {
        for (const { fn, ms } of held.splice(0)) {
          clock += ms;
          fn();
        }
      },
    };
  };
  const statusWrites = () => {
    const spy = vi.spyOn(messages, 'updateStatus');
    return () => spy.mock.calls.map(([, update]) => update.status);
  };
  /** The contact's phone acks each text with a delivery receipt, stored before sendMessage returns. */
  const deliverOnSend = (sock: FakeSocket) => {
    const send = sock.sendMessage.bind(sock);
    sock.sendMessage = async (to, content, options) => {
      const sent = await send(to, content, options);
      sock.ev.emit('messages.update', [
        { key: { id: options.messageId, fromMe: true }, update: { status: 3 } },
      ]);
      return sent;
    };
  };

  it('writes no SENT when the delivery receipt is stored while the next send would still wait', async () => {
    const { session, sock } = await pacedSession();
    const writes = statusWrites();
    deliverOnSend(sock);
    const { message, command } = await queued();
    expect(await session.send(command)).toBe('sent');
    expect(writes()).toEqual(['DELIVERED']);
    expect(await messages.get(message.messageId)).toMatchObject({
      status: 'DELIVERED',
      waMessageId: waMessageIdFor(message.messageId),
    });
    // Nothing left for the sweeper: the receipt's write ended the claim.
    expect(await messages.listQueued(record.sessionId, { createdBefore: '9', limit: 10 })).toEqual([]);
  });

  it('writes SENT once the pacing interval passed without a receipt, and the receipt after it moves it on', async () => {
    const { session, sock, fire } = await pacedSession();
    const writes = statusWrites();
    const { message, command } = await queued();
    const sending = session.send(command);
    await vi.waitFor(() => expect(sock.sent).toHaveLength(1));
    expect(writes()).toEqual([]);
    fire();
    expect(await sending).toBe('sent');
    expect((await messages.get(message.messageId))?.status).toBe('SENT');
    sock.ev.emit('messages.update', [
      { key: { id: waMessageIdFor(message.messageId), fromMe: true }, update: { status: 3 } },
    ]);
    await vi.waitFor(async () => expect((await messages.get(message.messageId))?.status).toBe('DELIVERED'));
    expect(writes()).toEqual(['SENT', 'DELIVERED']);
  });

  it('writes no SENT for an AI reply delivered within the pacing interval after it went out (after typing)', async () => {
    const { session, sock, held, fire } = await pacedSession();
    const writes = statusWrites();
    deliverOnSend(sock);
    // Typed for longer than the pacing interval: the interval counts from the send itself.
    const { message, command } = await queued('x'.repeat(60));
    expect(typingMsFor('x'.repeat(60))).toBeGreaterThan(1000);
    const manners = { readWaMessageId: 'WA-IN-1', chat: '4915100000002@s.whatsapp.net' };
    const sending = session.send({ ...command, manners });
    await vi.waitFor(() => expect(held).toHaveLength(1)); // typing
    fire();
    expect(await sending).toBe('sent');
    expect(sock.manners.at(-1)).toBe(`send:${message.to}`);
    expect(writes()).toEqual(['DELIVERED']);
  });

  it("writes SENT at once with pacing off; another message's receipt does not count", async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const writes = statusWrites();
    const { message, command } = await queued();
    const other = await queued();
    await messages.claimSend(other.message.messageId, {
      sessionId: record.sessionId,
      tenantId: record.tenantId,
      fence: 1,
      runnerId: 'runner-a',
      waMessageId: 'WAOTHER',
      now: new Date().toISOString(),
      staleBefore: new Date(0).toISOString(),
    });
    const send = sock.sendMessage.bind(sock);
    sock.sendMessage = async (to, content, options) => {
      sock.ev.emit('messages.update', [{ key: { id: 'WAOTHER', fromMe: true }, update: { status: 3 } }]);
      await vi.waitFor(async () =>
        expect((await messages.get(other.message.messageId))?.status).toBe('DELIVERED'),
      );
      return send(to, content, options);
    };
    expect(await session.send(command)).toBe('sent');
    expect((await messages.get(message.messageId))?.status).toBe('SENT');
    expect(writes()).toEqual(['DELIVERED', 'SENT']);
  });
});

describe('receipts and retry requests after a restart', () => {
  it('a new runner stores DELIVERED then READ for a message sent before the restart, never back', async () => {
    const { session: before } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    await before.send(command);
    before.halt();
    const { sock } = await openSession(2, 'runner-b');
    const waId = waMessageIdFor(message.messageId);
    const receipt = (status: number) =>
      sock.ev.emit('messages.update', [{ key: { id: waId, fromMe: true }, update: { status } }]);
    receipt(3);
    await vi.waitFor(async () => expect((await messages.get(message.messageId))?.status).toBe('DELIVERED'));
    receipt(4);
    await vi.waitFor(async () => expect((await messages.get(message.messageId))?.status).toBe('READ'));
    receipt(3);
    // A later receipt of another message shows the DELIVERED above was handled before it.
    const other = await queued();
    await messages.claimSend(other.message.messageId, {
      sessionId: record.sessionId,
      tenantId: record.tenantId,
      fence: 2,
      runnerId: 'runner-b',
      waMessageId: 'WAOTHER',
      now: new Date().toISOString(),
      staleBefore: new Date(0).toISOString(),
    });
    sock.ev.emit('messages.update', [{ key: { id: 'WAOTHER', fromMe: true }, update: { status: 3 } }]);
    await vi.waitFor(async () =>
      expect((await messages.get(other.message.messageId))?.status).toBe('DELIVERED'),
    );
    expect((await messages.get(message.messageId))?.status).toBe('READ');
  });

  it("refuses a zombie runner's receipt once a newer owner wrote the message", async () => {
    const { session: zombie, sock: zombieSock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    await zombie.send(command);
    await openSession(2, 'runner-b');
    await messages.updateStatus(message.messageId, {
      status: 'DELIVERED',
      fence: 2,
      now: new Date().toISOString(),
    });
    zombieSock.ev.emit('messages.update', [
      { key: { id: waMessageIdFor(message.messageId), fromMe: true }, update: { status: 4 } },
    ]);
    // Nothing to wait for but the refusal: give the handler its turns, then check nothing moved.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect((await messages.get(message.messageId))?.status).toBe('DELIVERED');
  });

  it('stores a READ receipt whose write failed (store down): Baileys acked it, it never comes again', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    await session.send(command);
    const writes = vi.spyOn(messages, 'updateStatus');
    writes.mockRejectedValueOnce(new Error('store down')).mockRejectedValueOnce(new Error('store down'));
    const before = backoffs.length;
    sock.ev.emit('messages.update', [
      { key: { id: waMessageIdFor(message.messageId), fromMe: true }, update: { status: 4 } },
    ]);
    await vi.waitFor(async () => expect((await messages.get(message.messageId))?.status).toBe('READ'));
    expect(writes).toHaveBeenCalledTimes(3);
    // Tried again after 1 s, then 2 s (the test's timers run them at once and record the waits).
    expect(backoffs.slice(before)).toEqual([1000, 2000]);
  });

  it('tries a failing receipt write at most 8 times; a receipt for no message of ours is not tried again', async () => {
    const { session, sock } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    await session.send(command);
    const writes = vi.spyOn(messages, 'updateStatus').mockRejectedValue(new Error('store down'));
    const receipt = (id: string) =>
      sock.ev.emit('messages.update', [{ key: { id, fromMe: true }, update: { status: 4 } }]);
    receipt(waMessageIdFor(message.messageId));
    await vi.waitFor(() => expect(writes).toHaveBeenCalledTimes(8));
    // A receipt for no message of ours (not found) is an answer too: no write, no retry.
    receipt('3EB0000000000000000000');
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(writes).toHaveBeenCalledTimes(8);
    expect((await messages.get(message.messageId))?.status).toBe('SENT');
  });

  it("answers a recipient's retry request from the stored message after a restart", async () => {
    const { session: before } = await openSession(1, 'runner-a');
    const { message, command } = await queued();
    await before.send(command);
    before.halt();
    const { sock } = await openSession(2, 'runner-b');
    expect(await sock.getMessage({ id: waMessageIdFor(message.messageId) })).toEqual({
      conversation: 'Hi there',
    });
    expect(await sock.getMessage({ id: '3EB0000000000000000000' })).toBeUndefined();
  });
});

describe('isTransientSendError', () => {
  it('retries timeouts, rate limits, server errors and network errors; not bad requests', () => {
    expect(isTransientSendError(new Boom('x', { statusCode: 408 }))).toBe(true);
    expect(isTransientSendError(new Boom('x', { statusCode: 503 }))).toBe(true);
    expect(isTransientSendError(new Error('ETIMEDOUT'))).toBe(true);
    expect(isTransientSendError(new Boom('x', { statusCode: 400 }))).toBe(false);
    expect(isTransientSendError(new TypeError('bad jid'))).toBe(false);
  });
});
