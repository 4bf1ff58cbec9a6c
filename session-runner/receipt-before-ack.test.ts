import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '#local/simulator/index.ts';
import { startTrustedSimulator, uniqueNumber } from '#local/simulator/testing/trusted-simulator.ts';
import { waitFor } from '#local/simulator/testing/wait-for.ts';
import type { SendCommand } from '#shared/contracts/commands.ts';
import { createLogger } from '#shared/logger.ts';
import type { MessageStatusUpdate } from '#shared/ports/message-store.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { DurableAuthState } from './auth-state/durable-auth-state.ts';
import { type SessionContext, type Timers, WhatsAppSession } from './session.ts';

// Regression for #10 r1 ("receipts of messages sent before each kill arrive"): Baileys acked a
// delivery receipt to WhatsApp before the runner stored it, so a kill -9 between the ack and the
// write lost the receipt for good. The patched Baileys acks only once the runner's hook has
// stored it; a runner that dies first leaves it unacked, and WhatsApp (the simulator) delivers it
// again to the next runner. Real Baileys against the simulator, in-memory stores.

process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
/** Baileys timeouts short enough for a test, long enough for a loaded machine (as the runner harness's). */
const FAST_SOCKET = { connectTimeoutMs: 10_000, defaultQueryTimeoutMs: 10_000, keepAliveIntervalMs: 5_000 };

let sim: Simulator;
const live: WhatsAppSession[] = [];

beforeAll(async () => {
  sim = await startTrustedSimulator();
});
afterEach(async () => {
  for (const session of live.splice(0)) await session.shutdown();
});
afterAll(async () => {
  await sim?.stop();
});

/** Real timers that a kill -9 stops: nothing scheduled by the dead process runs afterwards. */
const killableTimers = () => {
  let dead = false;
  const timers: Timers = {
    setTimeout: (fn, ms) => setTimeout(() => !dead && fn(), ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  };
  const kill = () => {
    dead = true;
  };
  return { timers, kill };
};

/** The shared message store as one runner sees it: its receipt writes go through `onReceiptWrite`. */
const storeOf = (
  messages: InMemoryMessageStore,
  onReceiptWrite: (update: MessageStatusUpdate) => Promise<void> = async () => undefined,
): InMemoryMessageStore =>
  Object.assign(Object.create(messages), {
    updateStatus: async (messageId: string, update: MessageStatusUpdate) => {
      if (update.status === 'DELIVERED' || update.status === 'READ') await onReceiptWrite(update);
      return messages.updateStatus(messageId, update);
    },
  });

/** A linked session (its auth state as a runner left it in S3), in-memory stores, and a contact. */
const linkedSession = async () => {
  const phone = uniqueNumber();
  const contact = uniqueNumber('1444');
  const record = aSession({ status: 'CONNECTING', fence: 1 });
  const sessions = new InMemorySessionStore();
  await sessions.create(record);
  const objects = new InMemoryObjectStore();
  const messages = new InMemoryMessageStore();
  const linked = await DurableAuthState.load({
    store: objects,
    sessionId: record.sessionId,
    fence: 1,
    sleep: async () => undefined,
  });
  linked.state.creds = sim.createPairedCredentials(phone);
  await linked.snapshot();

  const context = (store: InMemoryMessageStore, timers: Timers, runnerId: string): SessionContext => ({
    sessions,
    messages: store,
    objects,
    publishIncoming: async () => undefined,
    metrics: () => undefined,
    logger: createLogger('test'),
    timers,
    now: Date.now,
    runnerId,
    waWebSocketUrl: sim.url,
    sendMinIntervalMs: 0,
    backoff: { baseMs: 200, capMs: 800 },
    socketOverrides: FAST_SOCKET,
  });
  /** A runner's instance of the session (fence), connected. */
  const open = async (fence: number, ctx: SessionContext) => {
    const session = new WhatsAppSession({ ...record, fence }, fence, ctx);
    live.push(session);
    await session.start();
    expect(await session.waitConnected(30_000)).toBe(true);
    return session;
  };
  /** Sends a text to the contact through `session`; returns the stored message's id. */
  const send = async (session: WhatsAppSession, text: string) => {
    const message = aMessage({
      sessionId: record.sessionId,
      tenantId: record.tenantId,
      to: `${contact}@s.whatsapp.net`,
      text,
    });
    await messages.putIfAbsent(message);
    const command = {
      v: 1,
      type: 'send',
      sessionId: record.sessionId,
      commandId: message.messageId,
      messageId: message.messageId,
      to: message.to,
      text,
    } as SendCommand;
    expect(await session.send(command)).toBe('sent');
    return message.messageId;
  };
  const statusOf = async (messageId: string) => (await messages.get(messageId))?.status;
  const offline = () =>
    waitFor(
      () => sim.stats().devices.find((d) => d.jid === `${phone}:1@s.whatsapp.net`)?.connections === 0,
      'the device offline at the simulator',
    );
  return { phone, contact, messages, context, open, send, statusOf, offline };
};

describe('a delivery receipt whose runner dies before storing it', () => {
  it.each([
    ['the write hangs (the process dies during it)', () => new Promise<never>(() => undefined)],
    [
      'the write fails (store down) and the process dies before its retry',
      async () => {
        throw new Error('store down');
      },
    ],
  ])(
    'is stored by the next runner after WhatsApp delivers it again: %s',
    async (_, dyingWrite) => {
      const s = await linkedSession();
      // Runner A sends; the contact's delivery receipt reaches it, and it dies storing it.
      const receiptWrites: MessageStatusUpdate[] = [];
      const a = killableTimers();
      const store = storeOf(s.messages, (update) => {
        receiptWrites.push(update);
        return dyingWrite();
      });
      const dying = await s.open(1, s.context(store, a.timers, 'runner-a'));
      const messageId = await s.send(dying, 'was it delivered?');
      await waitFor(() => receiptWrites.length > 0, 'the delivery receipt at runner A');
      expect(receiptWrites[0]?.status).toBe('DELIVERED');
      // kill -9: its timers (retries) never run, its socket drops without a word.
      a.kill();
      dying.halt();
      await s.offline();
      expect(await s.statusOf(messageId)).toBe('SENT');

      // Runner B takes the session over: WhatsApp delivers the unacked receipt again, B stores it.
      await s.open(2, s.context(storeOf(s.messages), killableTimers().timers, 'runner-b'));
      await waitFor(
        async () => (await s.statusOf(messageId)) === 'DELIVERED',
        'DELIVERED by runner B',
        20_000,
      );
    },
    60_000,
  );
});

describe('a read receipt whose write failed', () => {
  it('is left unacked, delivered again after the connection drops, and stored', async () => {
    const s = await linkedSession();
    let failed = 0;
    const store = storeOf(s.messages, async (update) => {
      if (update.status !== 'READ' || failed > 0) return;
      failed += 1;
      throw new Error('store down');
    });
    // The runner's own retry of the write (after 1 s) never comes: only WhatsApp's redelivery can
    // store it. Reconnects wait at most 800 ms (the backoff below), lookups are found at once.
    const timers: Timers = {
      setTimeout: (fn, ms) => (ms === 1_000 ? undefined : setTimeout(fn, ms)),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    const session = await s.open(1, s.context(store, timers, 'runner-a'));
    const messageId = await s.send(session, 'did you read it?');
    await waitFor(async () => (await s.statusOf(messageId)) === 'DELIVERED', 'DELIVERED');
    const waId = (await s.messages.get(messageId))?.waMessageId as string;
    sim.markRead(s.contact, waId);
    await waitFor(() => failed === 1, 'the failed READ write');
    const before = sim.stats().redelivered;
    expect(await s.statusOf(messageId)).toBe('DELIVERED');

    // Connection lost (428): the session reconnects, and the unacked read receipt comes again.
    sim.disconnect(s.phone, 428);
    await waitFor(async () => (await s.statusOf(messageId)) === 'READ', 'READ after the reconnect', 20_000);
    expect(sim.stats().redelivered).toBe(before + 1);
  }, 60_000);
});
