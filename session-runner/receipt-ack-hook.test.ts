import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '#shared/logger.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { type SessionContext, WhatsAppSession } from './session.ts';

// The hook the patched Baileys awaits before it acks a delivery or read receipt to WhatsApp
// (`beforeReceiptAck`): it resolves once the receipt is stored, so an ack means stored, and
// rejects (no ack: WhatsApp delivers it again) when the write fails or outlasts its bound.
// Baileys is a fake socket; timers are the test's, fired by hand.

type Update = { key: { id: string; fromMe: boolean }; update: { status: number } };

interface FakeSocket {
  ev: EventEmitter;
  ws: EventEmitter;
  user: { id: string };
  beforeReceiptAck: (updates: Update[]) => Promise<void>;
  end(): void;
}

const sockets: FakeSocket[] = [];

vi.mock('@whiskeysockets/baileys', async (importOriginal) => {
  const original = await importOriginal<typeof import('@whiskeysockets/baileys')>();
  const makeSocket = (config: { beforeReceiptAck: FakeSocket['beforeReceiptAck'] }): FakeSocket => {
    const sock: FakeSocket = {
      ev: new EventEmitter(),
      ws: new EventEmitter(),
      user: { id: '4915100000001:1@s.whatsapp.net' },
      beforeReceiptAck: config.beforeReceiptAck,
      end: () => undefined,
    };
    sockets.push(sock);
    return sock;
  };
  return { ...original, default: makeSocket };
});

process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
const record = aSession({ status: 'CONNECTING', fence: 1 });
const WA_ID = '3EB0BBBBBBBBBBBBBBBBBB';
let messages: InMemoryMessageStore;
let sessions: InMemorySessionStore;
let messageId: string;

/** Timers the test fires by hand: `fire(ms)` runs what waits that long, in order. */
let pending: { fn: () => void; ms: number; handle: number }[];
let nextHandle: number;
const timers = {
  setTimeout: (fn: () => void, ms: number) => {
    nextHandle += 1;
    pending.push({ fn, ms, handle: nextHandle });
    return nextHandle;
  },
  clearTimeout: (handle: unknown) => {
    pending = pending.filter((t) => t.handle !== handle);
  },
};
const fire = (ms: number) => {
  const due = pending.filter((t) => t.ms === ms);
  pending = pending.filter((t) => t.ms !== ms);
  for (const t of due) t.fn();
};
const waits = () => pending.map((t) => t.ms).sort((a, b) => a - b);
const turns = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

const open = async () => {
  const context: SessionContext = {
    sessions,
    messages,
    objects: new InMemoryObjectStore(),
    publishIncoming: async () => undefined,
    metrics: () => undefined,
    logger: createLogger('test'),
    timers,
    now: Date.now,
    runnerId: 'runner-a',
    waWebSocketUrl: 'ws://127.0.0.1:1',
    sendMinIntervalMs: 0,
    backoff: { baseMs: 1000, capMs: 60_000 },
  };
  const session = new WhatsAppSession(record, 1, context);
  await session.start();
  const sock = sockets.at(-1) as FakeSocket;
  sock.ev.emit('connection.update', { connection: 'open' });
  await vi.waitFor(() => expect(session.connected).toBe(true));
  return sock;
};
const delivered = (id = WA_ID): Update[] => [{ key: { id, fromMe: true }, update: { status: 3 } }];
const statusOf = async () => (await messages.get(messageId))?.status;
/** The hook's promise, observed: 'pending' until it settles. */
const watch = (hook: Promise<void>) => {
  let state: 'pending' | 'acked' | 'refused' = 'pending';
  hook.then(
    () => {
      state = 'acked';
    },
    () => {
      state = 'refused';
    },
  );
  return () => state;
};

beforeEach(async () => {
  sockets.length = 0;
  pending = [];
  nextHandle = 0;
  messages = new InMemoryMessageStore();
  sessions = new InMemorySessionStore();
  await sessions.create(record);
  const message = aMessage({ sessionId: record.sessionId, tenantId: record.tenantId });
  messageId = message.messageId;
  await messages.putIfAbsent(message);
  await messages.claimSend(messageId, {
    sessionId: record.sessionId,
    tenantId: record.tenantId,
    fence: 1,
    runnerId: 'runner-a',
    waMessageId: WA_ID,
    now: new Date().toISOString(),
    staleBefore: new Date(0).toISOString(),
  });
});

describe("the receipt hook before WhatsApp's ack", () => {
  it('resolves only once the receipt is stored; the event Baileys emits after it writes nothing more', async () => {
    const sock = await open();
    let release: () => void = () => undefined;
    const store = messages.updateStatus.bind(messages);
    const writes = vi.spyOn(messages, 'updateStatus');
    writes.mockImplementationOnce(async (id, update) => {
      await new Promise<void>((r) => {
        release = r;
      });
      return store(id, update);
    });
    const ack = watch(sock.beforeReceiptAck(delivered()));
    await turns();
    expect(ack()).toBe('pending');
    release();
    await vi.waitFor(() => expect(ack()).toBe('acked'));
    expect(await statusOf()).toBe('DELIVERED');
    sock.ev.emit('messages.update', delivered());
    await turns();
    expect(writes).toHaveBeenCalledTimes(1);
  });

  it('rejects when the write fails (no ack); the retry stores it, and the redelivery is then acked without a write', async () => {
    const sock = await open();
    const writes = vi.spyOn(messages, 'updateStatus').mockRejectedValueOnce(new Error('store down'));
    const ack = watch(sock.beforeReceiptAck(delivered()));
    await vi.waitFor(() => expect(ack()).toBe('refused'));
    expect(await statusOf()).toBe('QUEUED');
    // Baileys' event after the refused hook does not start a second write beside the retry.
    sock.ev.emit('messages.update', delivered());
    await turns();
    expect(writes).toHaveBeenCalledTimes(1);
    expect(waits()).toEqual([1000]);
    fire(1000);
    await vi.waitFor(async () => expect(await statusOf()).toBe('DELIVERED'));
    // WhatsApp delivers the unacked receipt again on the next login: stored already, acked at once.
    const again = watch(sock.beforeReceiptAck(delivered()));
    await vi.waitFor(() => expect(again()).toBe('acked'));
    expect(writes).toHaveBeenCalledTimes(2);
  });

  it('a redelivery while a retry waits writes at once instead of waiting for the retry', async () => {
    const sock = await open();
    const writes = vi.spyOn(messages, 'updateStatus').mockRejectedValueOnce(new Error('store down'));
    const first = watch(sock.beforeReceiptAck(delivered()));
    await vi.waitFor(() => expect(first()).toBe('refused'));
    expect(waits()).toEqual([1000]);
    const again = watch(sock.beforeReceiptAck(delivered()));
    await vi.waitFor(() => expect(again()).toBe('acked'));
    expect(await statusOf()).toBe('DELIVERED');
    expect(writes).toHaveBeenCalledTimes(2);
    // The hook's own bound timer is all that is left: the retry was taken over.
    expect(waits()).toEqual([]);
  });

  it('rejects once the write outlasts its bound (15 s): the receipt stays unacked', async () => {
    const sock = await open();
    vi.spyOn(messages, 'updateStatus').mockImplementationOnce(() => new Promise(() => undefined));
    const ack = watch(sock.beforeReceiptAck(delivered()));
    await turns();
    expect(ack()).toBe('pending');
    expect(waits()).toEqual([15_000]);
    fire(15_000);
    await vi.waitFor(() => expect(ack()).toBe('refused'));
  });

  it('waits for a WhatsApp id the index finds only on the 3rd lookup, instead of dropping the receipt', async () => {
    const sock = await open();
    const lookups = vi.spyOn(messages, 'findIdByWaMessageId');
    lookups.mockResolvedValueOnce(undefined).mockResolvedValueOnce(undefined);
    const ack = watch(sock.beforeReceiptAck(delivered()));
    await vi.waitFor(() => expect(waits()).toContain(250));
    fire(250);
    await vi.waitFor(() => expect(waits()).toContain(500));
    fire(500);
    await vi.waitFor(() => expect(ack()).toBe('acked'));
    expect(lookups).toHaveBeenCalledTimes(3);
    expect(await statusOf()).toBe('DELIVERED');
  });

  it('acks at once a receipt for an id we never send under (the phone’s own message): one lookup, no wait', async () => {
    const sock = await open();
    const lookups = vi.spyOn(messages, 'findIdByWaMessageId');
    const ack = watch(sock.beforeReceiptAck(delivered('A1B2C3D4E5F60718')));
    await vi.waitFor(() => expect(ack()).toBe('acked'));
    expect(lookups).toHaveBeenCalledTimes(1);
    expect(await statusOf()).toBe('QUEUED');
  });
});
