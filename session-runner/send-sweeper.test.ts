import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Command, SendCommand } from '#shared/contracts/commands.ts';
import type { SessionStatus } from '#shared/domain/session-status.ts';
import { createLogger } from '#shared/logger.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { NOT_SENT, SendSweeper } from './send-sweeper.ts';

// The sweeper on fake timers and the in-memory stores: a minute is one sweep.

const logger = createLogger('test');
logger.setLogLevel('SILENT');

const START = Date.parse('2026-01-01T12:00:00.000Z');
const MINUTE = 60_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});
afterEach(() => {
  vi.useRealTimers();
});

const setup = (o: { status?: SessionStatus } = {}) => {
  const sessions = new InMemorySessionStore();
  const messages = new InMemoryMessageStore();
  const published: { shard: number; command: Command }[] = [];
  const session = aSession({ shard: 2, status: o.status ?? 'CONNECTED' });
  sessions.items.set(session.sessionId, session);
  let fence: number | undefined = 7;
  let listings = 0;
  const counted = {
    listByShard: (shard: number) => {
      listings++;
      return sessions.listByShard(shard);
    },
  };
  const sweeper = new SendSweeper({
    shard: 2,
    sessions: counted,
    messages,
    commands: { publish: async (shard, command) => void published.push({ shard, command }) },
    fence: () => fence,
    now: Date.now,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) },
    logger,
    intervalMs: MINUTE,
    staleAfterMs: 2 * MINUTE,
    claimStaleMs: 5 * MINUTE,
    maxResends: 3,
    maxAgeMs: 30 * MINUTE,
  });
  /** Accepted now (QUEUED), its command then lost. */
  const accept = async (overrides = {}) => {
    const message = aMessage({
      sessionId: session.sessionId,
      tenantId: session.tenantId,
      createdAt: new Date(Date.now()).toISOString(),
      ...overrides,
    });
    await messages.putIfAbsent(message);
    return message;
  };
  /** Lets `minutes` sweeps run, each to its end. */
  const minutes = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await vi.advanceTimersByTimeAsync(MINUTE);
      await sweeper.lastSweep;
    }
  };
  const sends = () => published.map((p) => p.command as SendCommand);
  return {
    sweeper,
    session,
    messages,
    published,
    sends,
    accept,
    minutes,
    loseShard: () => {
      fence = undefined;
    },
    listings: () => listings,
  };
};

describe('SendSweeper', () => {
  it('enqueues a lost send again under the same messageId, once per period, on its shard', async () => {
    const { sweeper, session, sends, published, accept, minutes } = setup();
    const message = await accept();
    sweeper.start();
    await minutes(1);
    expect(published).toEqual([]); // too young: its command may still be on its way
    await minutes(1);
    expect(published).toHaveLength(1);
    expect(published[0]?.shard).toBe(2);
    expect(sends()[0]).toMatchObject({
      type: 'send',
      sessionId: session.sessionId,
      messageId: message.messageId,
      to: message.to,
      text: message.text,
    });
    await minutes(1);
    expect(published).toHaveLength(1); // not again before the period since the last enqueue
    await minutes(1);
    expect(published).toHaveLength(2);
    expect(sends().map((c) => c.messageId)).toEqual([message.messageId, message.messageId]);
    // A fresh commandId each time: SQS would drop a repeated one for 5 minutes.
    expect(new Set(sends().map((c) => c.commandId)).size).toBe(2);
    sweeper.stop();
  });

  it('marks the send FAILED with NOT_SENT after the bounded number of enqueues', async () => {
    const { sweeper, messages, sends, accept, minutes } = setup();
    const message = await accept();
    sweeper.start();
    await minutes(7); // enqueued at minutes 2, 4 and 6; still not sent at 7
    expect(sends()).toHaveLength(3);
    expect(await messages.get(message.messageId)).toMatchObject({ status: 'QUEUED' });
    await minutes(1);
    expect(await messages.get(message.messageId)).toMatchObject({ status: 'FAILED', error: NOT_SENT });
    await minutes(4);
    expect(sends()).toHaveLength(3); // a final message is off the list
    sweeper.stop();
  });

  it('marks a send FAILED with NOT_SENT once it is older than the bound, whatever its enqueues', async () => {
    const { sweeper, messages, published, accept } = setup();
    const old = await accept({ createdAt: new Date(START - 31 * MINUTE).toISOString() });
    const result = await sweeper.sweepOnce();
    expect(result).toEqual({ resent: [], failed: [old.messageId] });
    expect(published).toEqual([]);
    expect(await messages.get(old.messageId)).toMatchObject({ status: 'FAILED', error: NOT_SENT });
  });

  it('leaves a moving backlog alone: no copies while the oldest QUEUED send keeps changing', async () => {
    const { sweeper, messages, published, accept, minutes } = setup();
    // 12 sends accepted at once; the session gets through one a minute (a slow, long backlog).
    const backlog = [];
    for (let i = 0; i < 12; i++) backlog.push(await accept());
    backlog.sort((a, b) => a.messageId.localeCompare(b.messageId)); // the store's order at one instant
    sweeper.start();
    await minutes(1); // the first look: nothing is due yet, the oldest is noted
    for (const message of backlog.slice(0, 10)) {
      await messages.updateStatus(message.messageId, { status: 'SENT', now: new Date().toISOString() });
      await minutes(1);
    }
    expect(published).toEqual([]);
    // The queue stops moving (its last two commands lost): both are enqueued again.
    await minutes(1);
    expect(published.map((p) => (p.command as SendCommand).messageId).sort()).toEqual(
      backlog.slice(10).map((m) => m.messageId),
    );
    sweeper.stop();
  });

  it('enqueues nothing for a session that is not connected, and gives its sends up after the age bound', async () => {
    const { sweeper, messages, published, accept, minutes } = setup({ status: 'CONNECTING' });
    const message = await accept();
    sweeper.start();
    await minutes(29);
    expect(published).toEqual([]);
    expect((await messages.get(message.messageId))?.status).toBe('QUEUED');
    await minutes(1);
    expect(await messages.get(message.messageId)).toMatchObject({ status: 'FAILED', error: NOT_SENT });
    expect(published).toEqual([]);
  });

  it('leaves a send alone while a live claim holds it, and enqueues it again once the claim is stale', async () => {
    const { sweeper, session, messages, published, accept, minutes } = setup();
    const message = await accept();
    await minutes(2);
    await messages.claimSend(message.messageId, {
      sessionId: session.sessionId,
      tenantId: session.tenantId,
      fence: 7,
      runnerId: 'r1',
      waMessageId: '3EB0AAAA',
      now: new Date(Date.now()).toISOString(),
      staleBefore: new Date(Date.now() - 5 * MINUTE).toISOString(),
    });
    sweeper.start();
    await minutes(4);
    expect(published).toEqual([]); // a send under way (a runner waiting on WhatsApp)
    await minutes(2); // the claim is 6 minutes old: its runner crashed mid-send
    expect(published).toHaveLength(1);
    sweeper.stop();
  });

  it('leaves sent and failed messages alone', async () => {
    const { sweeper, messages, published, accept } = setup();
    const sent = await accept({ createdAt: new Date(START - 10 * MINUTE).toISOString() });
    await messages.updateStatus(sent.messageId, { status: 'SENT', now: new Date().toISOString() });
    expect(await sweeper.sweepOnce()).toEqual({ resent: [], failed: [] });
    expect(published).toEqual([]);
  });

  it('stops sweeping when the shard is lost, and writes nothing for it', async () => {
    const { sweeper, messages, published, accept, minutes, loseShard, listings } = setup();
    const message = await accept();
    sweeper.start();
    await minutes(1);
    expect(listings()).toBe(1);
    loseShard();
    await minutes(10);
    expect(listings()).toBe(1); // the sweep after the loss lists nothing and ends the loop
    expect(published).toEqual([]);
    expect(await messages.get(message.messageId)).toMatchObject({ status: 'QUEUED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops when told to (the supervisor lost or released the shard)', async () => {
    const { sweeper, accept, minutes, listings } = setup();
    await accept();
    sweeper.start();
    await minutes(1);
    sweeper.stop();
    await minutes(5);
    expect(listings()).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses to enqueue or fail a send a newer owner of the shard has written', async () => {
    const { sweeper, session, messages, published, accept } = setup();
    const message = await accept({ createdAt: new Date(START - 10 * MINUTE).toISOString() });
    // A newer owner (fence 9) claimed it and gave the claim back: our fence 7 is stale.
    const claim = {
      sessionId: session.sessionId,
      tenantId: session.tenantId,
      fence: 9,
      runnerId: 'r2',
      waMessageId: '3EB0BBBB',
      now: new Date(START - 9 * MINUTE).toISOString(),
      staleBefore: new Date(START - 14 * MINUTE).toISOString(),
    };
    await messages.claimSend(message.messageId, claim);
    await messages.releaseSend(message.messageId, { fence: 9, runnerId: 'r2' });
    expect(await sweeper.sweepOnce()).toEqual({ resent: [], failed: [] });
    expect(published).toEqual([]);
  });
});
