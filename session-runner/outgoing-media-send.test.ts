import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { proto } from '@whiskeysockets/baileys';
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
  /** What the next sendMessage answers (Baileys' sent WAMessage); `{}` when unset. */
  answer?: unknown;
  /** Runs before sendMessage answers (a receipt stored in the meantime). */
  beforeAnswer?: () => Promise<void>;
  /** Baileys' retry-request hook, as the session configured it. */
  getMessage: (key: { id?: string }) => Promise<unknown>;
  sendMessage(to: string, content: unknown, options: { messageId: string }): Promise<unknown>;
  end(): void;
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
      getMessage: config.getMessage,
      async sendMessage(to, content) {
        sock.sent.push({ to, content });
        await sock.beforeAnswer?.();
        return sock.answer ?? {};
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

  it("records the sent file's real size and sha256 and answers a retry request with the file after a restart", async () => {
    const { session, sock } = await open(mediaDouble([]));
    const { message, command, media } = await queuedFile();
    const sha256 = Buffer.alloc(32, 7);
    const documentMessage = {
      url: 'https://mmg.whatsapp.net/d/f/abc.enc',
      directPath: '/d/f/abc.enc',
      mediaKey: Buffer.alloc(32, 1),
      fileEncSha256: Buffer.alloc(32, 2),
      fileSha256: sha256,
      fileLength: 4321,
      mimetype: 'application/pdf',
      fileName: 'invoice.pdf',
      caption: 'Your invoice',
    };
    sock.answer = { key: { id: 'x' }, message: { documentMessage } };
    expect(await session.send(command)).toBe('sent');
    const stored = await messages.get(message.messageId);
    expect(stored).toMatchObject({
      status: 'SENT',
      media: { ...media, size: 4321, sha256: sha256.toString('hex') },
    });
    session.halt();

    // Another instance of the session (a restart) answers the retry from the store alone.
    const { sock: next } = await open(mediaDouble([]));
    const again = (await next.getMessage({ id: stored?.waMessageId })) as proto.IMessage;
    expect(again.conversation).toBeFalsy();
    const resent = proto.Message.fromObject(again).documentMessage;
    expect(resent).toMatchObject({
      url: documentMessage.url,
      directPath: documentMessage.directPath,
      mimetype: 'application/pdf',
      fileName: 'invoice.pdf',
      caption: 'Your invoice',
    });
    expect(Buffer.from(resent?.mediaKey ?? []).equals(documentMessage.mediaKey)).toBe(true);
    expect(Buffer.from(resent?.fileSha256 ?? []).equals(sha256)).toBe(true);
    expect(Number(resent?.fileLength)).toBe(4321);
  });

  it("records the sent file's facts when a delivery receipt overtook the SENT write", async () => {
    const { session, sock } = await open(mediaDouble([]));
    const { message, command, media } = await queuedFile();
    const documentMessage = {
      mediaKey: Buffer.alloc(32, 1),
      fileSha256: Buffer.alloc(32, 9),
      fileLength: 555,
      mimetype: 'application/pdf',
      directPath: '/d/f/x.enc',
    };
    sock.answer = { key: { id: 'x' }, message: { documentMessage } };
    sock.beforeAnswer = async () => {
      await messages.updateStatus(message.messageId, {
        status: 'DELIVERED',
        fence: 1,
        now: new Date().toISOString(),
      });
    };
    expect(await session.send(command)).toBe('sent');
    const stored = await messages.get(message.messageId);
    expect(stored).toMatchObject({
      status: 'DELIVERED',
      media: { ...media, size: 555, sha256: '09'.repeat(32) },
    });
    const again = (await sock.getMessage({ id: stored?.waMessageId })) as proto.IMessage;
    expect(again.documentMessage?.directPath).toBe('/d/f/x.enc');
  });

  it('answers a retry request for a file sent before its media message was stored with its text note', async () => {
    const { session, sock } = await open(mediaDouble([]));
    const { message, command } = await queuedFile();
    expect(await session.send(command)).toBe('sent'); // the fake answers no media message
    const stored = await messages.get(message.messageId);
    expect(stored?.waMedia).toBeUndefined();
    expect(await sock.getMessage({ id: stored?.waMessageId })).toEqual({ conversation: message.text });
  });
});
