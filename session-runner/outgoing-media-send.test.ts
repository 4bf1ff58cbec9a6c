import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { SendCommand } from '#shared/contracts/commands.ts';
import type { MessageMedia } from '#shared/domain/media.ts';
import { createLogger } from '#shared/logger.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { OutgoingMediaError, type PreparedMedia } from './outgoing-media.ts';
import { type SessionContext, WhatsAppSession } from './session.ts';

// A send whose stored message carries a file, over a fake Baileys socket: what the socket is
// handed, how often the file is opened, and what is recorded when it cannot be sent.

interface FakeSocket {
  ev: EventEmitter;
  ws: EventEmitter;
  user: { id: string };
  sent: { to: string; content: unknown }[];
  sendMessage(to: string, content: unknown, options: { messageId: string }): Promise<unknown>;
  end(): void;
}

const sockets: FakeSocket[] = [];

vi.mock('@whiskeysockets/baileys', async (importOriginal) => {
  const original = await importOriginal<typeof import('@whiskeysockets/baileys')>();
  const makeSocket = (): FakeSocket => {
    const sock: FakeSocket = {
      ev: new EventEmitter(),
      ws: new EventEmitter(),
      user: { id: '4915100000001:1@s.whatsapp.net' },
      sent: [],
      async sendMessage(to, content) {
        sock.sent.push({ to, content });
        return {};
      },
      end: () => undefined,
    };
    sockets.push(sock);
    return sock;
  };
  return { ...original, default: makeSocket };
});

process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
const record = aSession({ status: 'CONNECTING', fence: 1 });
let messages: InMemoryMessageStore;
let sessions: InMemorySessionStore;

/** An outgoing-media double: answers each prepare with the next outcome, counting the opens. */
const mediaDouble = (outcomes: (OutgoingMediaError | 'ok')[]) => {
  const calls: { tenantId: string; media: MessageMedia }[] = [];
  return {
    calls,
    prepare: async (tenantId: string, media: MessageMedia): Promise<PreparedMedia> => {
      calls.push({ tenantId, media });
      const outcome = outcomes.shift() ?? 'ok';
      if (outcome !== 'ok') throw outcome;
      return {
        content: { document: { url: 'x' }, fileName: media.fileName ?? 'file' } as never,
        close: () => undefined,
      };
    },
  };
};

const open = async (outgoingMedia?: SessionContext['outgoingMedia']) => {
  const context: SessionContext = {
    sessions,
    messages,
    objects: new InMemoryObjectStore(),
    publishIncoming: async () => undefined,
    metrics: () => undefined,
    logger: createLogger('test'),
    timers: {
      setTimeout: (fn) => setImmediate(fn),
      clearTimeout: (h) => clearImmediate(h as NodeJS.Immediate),
    },
    now: Date.now,
    runnerId: 'runner-a',
    waWebSocketUrl: 'ws://127.0.0.1:1',
    sendMinIntervalMs: 0,
    backoff: { baseMs: 1000, capMs: 60_000 },
    ...(outgoingMedia && { outgoingMedia }),
  };
  const session = new WhatsAppSession(record, 1, context);
  await session.start();
  const sock = sockets.at(-1) as FakeSocket;
  sock.ev.emit('connection.update', { connection: 'open' });
  await vi.waitFor(() => expect(session.connected).toBe(true));
  return { session, sock };
};

const queuedFile = async () => {
  const media: MessageMedia = {
    mediaId: randomUUID(),
    mimeType: 'application/pdf',
    fileName: 'invoice.pdf',
    size: 100,
    sha256: '',
  };
  const message = aMessage({
    sessionId: record.sessionId,
    tenantId: record.tenantId,
    text: '[document: invoice.pdf]',
    media,
  });
  await messages.putIfAbsent(message);
  // A sweeper's resend carries no media: the stored message is what counts.
  const command = {
    v: 1,
    type: 'send',
    sessionId: record.sessionId,
    commandId: message.messageId,
    messageId: message.messageId,
    to: message.to,
    text: message.text,
  } as SendCommand;
  return { message, command, media };
};

beforeEach(async () => {
  sockets.length = 0;
  messages = new InMemoryMessageStore();
  sessions = new InMemorySessionStore();
  await sessions.create(record);
});

describe('a session sending a file', () => {
  it("hands Baileys the stored message's file, opened for the session's tenant, and records SENT", async () => {
    const media = mediaDouble([]);
    const { session, sock } = await open(media);
    const { message, command, media: file } = await queuedFile();
    expect(await session.send(command)).toBe('sent');
    expect(media.calls).toEqual([{ tenantId: record.tenantId, media: file }]);
    expect(sock.sent).toEqual([
      { to: message.to, content: { document: { url: 'x' }, fileName: 'invoice.pdf' } },
    ]);
    expect((await messages.get(message.messageId))?.status).toBe('SENT');
  });

  it('fails at once with the reason code when the file is refused, sending nothing', async () => {
    const media = mediaDouble([new OutgoingMediaError('MEDIA_TYPE_MISMATCH', 'html, not pdf')]);
    const { session, sock } = await open(media);
    const { message, command } = await queuedFile();
    expect(await session.send(command)).toBe('failed');
    expect(media.calls).toHaveLength(1);
    expect(sock.sent).toEqual([]);
    expect(await messages.get(message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'MEDIA_TYPE_MISMATCH',
    });
  });

  it('opens the file afresh for each retry of a transient failure, then sends', async () => {
    const down = () => new OutgoingMediaError('MEDIA_URL_FAILED', 'the media URL answered 503', true);
    const media = mediaDouble([down(), down()]);
    const { session, sock } = await open(media);
    const { message, command } = await queuedFile();
    expect(await session.send(command)).toBe('sent');
    expect(media.calls).toHaveLength(3);
    expect(sock.sent).toHaveLength(1);
    expect((await messages.get(message.messageId))?.status).toBe('SENT');
  });

  it('gives up after the bounded retries with the reason code', async () => {
    const slow = () => new OutgoingMediaError('MEDIA_URL_TIMEOUT', 'no answer', true);
    const media = mediaDouble([slow(), slow(), slow(), slow()]);
    const { session } = await open(media);
    const { message, command } = await queuedFile();
    expect(await session.send(command)).toBe('failed');
    expect(media.calls).toHaveLength(3);
    expect(await messages.get(message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'MEDIA_URL_TIMEOUT',
    });
  });

  it('fails MEDIA_UNAVAILABLE on a runner given no way to open files', async () => {
    const { session, sock } = await open();
    const { message, command } = await queuedFile();
    expect(await session.send(command)).toBe('failed');
    expect(sock.sent).toEqual([]);
    expect(await messages.get(message.messageId)).toMatchObject({
      status: 'FAILED',
      error: 'MEDIA_UNAVAILABLE',
    });
  });
});
