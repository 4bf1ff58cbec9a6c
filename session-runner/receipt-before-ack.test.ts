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
      const phone = uniqueNumber();
      const contact = uniqueNumber('1444');
      const record = aSession({ status: 'CONNECTING', fence: 1 });
      const sessions = new InMemorySessionStore();
      await sessions.create(record);
      const objects = new InMemoryObjectStore();
      const messages = new InMemoryMessageStore();
      // A linked device's auth state, as a runner left it in S3.
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
        backoff: { baseMs: 200, capMs: 1_000 },
        socketOverrides: FAST_SOCKET,
      });
      const open = async (fence: number, ctx: SessionContext) => {
        const session = new WhatsAppSession({ ...record, fence }, fence, ctx);
        live.push(session);
        await session.start();
        expect(await session.waitConnected(30_000)).toBe(true);
        return session;
      };

      // Runner A sends; the contact's delivery receipt reaches it, and it dies storing it.
      const receiptWrites: MessageStatusUpdate[] = [];
      const a = killableTimers();
      const dying = await open(
        1,
        context(
          storeOf(messages, (update) => {
            receiptWrites.push(update);
            return dyingWrite();
          }),
          a.timers,
          'runner-a',
        ),
      );
      const message = aMessage({
        sessionId: record.sessionId,
        tenantId: record.tenantId,
        to: `${contact}@s.whatsapp.net`,
        text: 'was it delivered?',
      });
      await messages.putIfAbsent(message);
      const command = {
        v: 1,
        type: 'send',
        sessionId: record.sessionId,
        commandId: message.messageId,
        messageId: message.messageId,
        to: message.to,
        text: message.text,
      } as SendCommand;
      expect(await dying.send(command)).toBe('sent');
      await waitFor(() => receiptWrites.length > 0, 'the delivery receipt at runner A');
      expect(receiptWrites[0]?.status).toBe('DELIVERED');
      // kill -9: its timers (retries) never run, its socket drops without a word.
      a.kill();
      dying.halt();
      await waitFor(
        () => sim.stats().devices.find((d) => d.jid === `${phone}:1@s.whatsapp.net`)?.connections === 0,
        'runner A offline at the simulator',
      );
      expect((await messages.get(message.messageId))?.status).toBe('SENT');

      // Runner B takes the session over: WhatsApp delivers the unacked receipt again, B stores it.
      await open(2, context(storeOf(messages), killableTimers().timers, 'runner-b'));
      await waitFor(
        async () => (await messages.get(message.messageId))?.status === 'DELIVERED',
        'DELIVERED stored by runner B',
        20_000,
      );
    },
    60_000,
  );
});
