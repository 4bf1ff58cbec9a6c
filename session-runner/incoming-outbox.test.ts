import { describe, expect, it } from 'vitest';
import type { MessageReceived } from '#shared/contracts/incoming.ts';
import { createLogger } from '#shared/logger.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { IncomingOutbox } from './incoming-outbox.ts';
import { incomingDedupId } from './incoming-publisher.ts';
import { IncomingSpool, spoolPrefix } from './incoming-spool.ts';
import type { RunnerMetric } from './metrics.ts';

const logger = createLogger('test');
logger.setLogLevel('SILENT');
const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';
let seq = 0;
const msg = (text: string, chat = '491511@s.whatsapp.net', sessionId = S1): MessageReceived => ({
  v: 1,
  type: 'message.received',
  tenantId: 't1',
  chatbotId: 'bot',
  sessionId,
  waMessageId: `WA${++seq}`,
  from: chat,
  chat,
  text,
  timestamp: new Date(0).toISOString(),
});

/** A queue double: records what it took, refuses everything while `down`. */
class QueueDouble {
  readonly taken: MessageReceived[] = [];
  down = false;
  delayMs = 0;
  send = async (m: MessageReceived) => {
    if (this.delayMs) await new Promise((r) => setTimeout(r, Math.random() * this.delayMs));
    if (this.down) throw new Error('SQS unavailable');
    this.taken.push(m);
  };
  texts = (sessionId = S1) => this.taken.filter((m) => m.sessionId === sessionId).map((m) => m.text);
}

class FlakyObjects extends InMemoryObjectStore {
  down = false;
  failedPuts = 0;
  override async put(key: string, body: Buffer) {
    if (this.down) {
      this.failedPuts++;
      throw new Error('S3 unavailable');
    }
    return super.put(key, body);
  }
  override async list(prefix: string) {
    if (this.down) throw new Error('S3 unavailable');
    return super.list(prefix);
  }
}

const setup = () => {
  const queue = new QueueDouble();
  const objects = new FlakyObjects();
  const metrics: RunnerMetric[] = [];
  let now = 1_000_000;
  const outbox = new IncomingOutbox({
    sendToQueue: queue.send,
    spool: new IncomingSpool(objects, 'r1', () => now++),
    metrics: (name) => metrics.push(name),
    logger,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) },
    backoff: { baseMs: 5, capMs: 20 },
  });
  const count = (name: RunnerMetric) => metrics.filter((m) => m === name).length;
  const spooled = (sessionId = S1) =>
    [...objects.objects.keys()].filter((k) => k.startsWith(spoolPrefix(sessionId)));
  return { queue, objects, outbox, count, spooled };
};

const waitFor = async (what: string, check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('IncomingOutbox', () => {
  it('publishes straight to the queue while SQS works, in order per chat even when sends are slow', async () => {
    const { queue, outbox, count, spooled } = setup();
    queue.delayMs = 10;
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await Promise.all(
      texts.flatMap((t) => [
        outbox.publish(msg(t, 'a@s.whatsapp.net')),
        outbox.publish(msg(t, 'b@s.whatsapp.net')),
      ]),
    );
    const ofChat = (chat: string) => queue.taken.filter((m) => m.chat === chat).map((m) => m.text);
    expect(ofChat('a@s.whatsapp.net')).toEqual(texts);
    expect(ofChat('b@s.whatsapp.net')).toEqual(texts);
    expect(count('IncomingSpooled')).toBe(0);
    expect(spooled()).toEqual([]);
  });

  it('spools to S3 while SQS is down, then redrives in order and deletes the spool once SQS is back', async () => {
    const { queue, outbox, count, spooled } = setup();
    queue.down = true;
    for (const t of ['one', 'two', 'three']) await outbox.publish(msg(t));
    expect(spooled()).toHaveLength(3);
    expect(count('IncomingSpooled')).toBe(3);
    expect(queue.taken).toEqual([]);
    queue.down = false;
    await waitFor('the spool drained', () => spooled().length === 0 && outbox.spooledSessions().length === 0);
    expect(queue.texts()).toEqual(['one', 'two', 'three']);
    expect(count('IncomingRedriven')).toBe(3);
    expect(count('IncomingDropped')).toBe(0);
    await outbox.publish(msg('four'));
    expect(queue.texts()).toEqual(['one', 'two', 'three', 'four']);
  });

  it('keeps per-chat order when SQS comes back while older messages still wait in the spool', async () => {
    const { queue, outbox, spooled } = setup();
    queue.down = true;
    await outbox.publish(msg('old'));
    queue.down = false;
    // SQS works again, but the session still has a spool: the new message goes behind it.
    const late = outbox.publish(msg('new'));
    await late;
    await waitFor('drained', () => spooled().length === 0 && outbox.spooledSessions().length === 0);
    expect(queue.texts()).toEqual(['old', 'new']);
  });

  it('redrives a spool left by a crashed runner before the messages of the resumed session', async () => {
    const { queue, objects, outbox, count } = setup();
    const crashed = new IncomingSpool(objects, 'r0', () => 5);
    await crashed.put(msg('left 1'));
    await crashed.put(msg('left 2'));
    await outbox.recover(S1);
    await outbox.publish(msg('after resume'));
    await waitFor('drained', () => outbox.spooledSessions().length === 0);
    expect(queue.texts()).toEqual(['left 1', 'left 2', 'after resume']);
    // The new message went behind the old ones through the spool, then to the queue.
    expect(count('IncomingRedriven')).toBe(3);
  });

  it('does not slow down a session without a spool: recover on an empty spool leaves it direct', async () => {
    const { queue, outbox, count } = setup();
    await outbox.recover(S2);
    expect(outbox.spooledSessions()).toEqual([]);
    await outbox.publish(msg('hi', 'c@s.whatsapp.net', S2));
    expect(queue.texts(S2)).toEqual(['hi']);
    expect(count('IncomingSpooled')).toBe(0);
  });

  it('retries a spool write while S3 fails too, and loses nothing', async () => {
    const { queue, objects, outbox, count } = setup();
    queue.down = true;
    objects.down = true;
    const pending = outbox.publish(msg('both down'));
    await waitFor('three failed spool attempts', () => objects.failedPuts >= 3);
    objects.down = false;
    await pending;
    queue.down = false;
    await waitFor('delivered', () => queue.texts().includes('both down'));
    expect(count('IncomingDropped')).toBe(0);
  });

  it('spools what is pending on SIGTERM instead of keeping it in memory', async () => {
    const { queue, outbox, spooled, count } = setup();
    queue.delayMs = 30;
    const all = ['a', 'b', 'c', 'd'].map((t) => outbox.publish(msg(t)));
    await outbox.close(5000);
    await Promise.all(all);
    const inQueue = queue.texts();
    expect(inQueue.length + spooled().length).toBe(4);
    expect(inQueue.length).toBeLessThan(4);
    expect(count('IncomingDropped')).toBe(0);
  });

  it('counts what neither SQS nor S3 took by the shutdown deadline as dropped', async () => {
    const { queue, objects, outbox, count } = setup();
    queue.down = true;
    objects.down = true;
    const pending = outbox.publish(msg('lost'));
    await outbox.close(50);
    await pending;
    expect(count('IncomingDropped')).toBe(1);
  });

  it('deduplicates per session and chat: the same WhatsApp id in two sessions gives two ids', () => {
    const a = { sessionId: S1, chat: 'x@s.whatsapp.net', waMessageId: '3EB0ABC' };
    expect(incomingDedupId(a)).not.toBe(incomingDedupId({ ...a, sessionId: S2 }));
    expect(incomingDedupId(a)).not.toBe(incomingDedupId({ ...a, chat: 'y@s.whatsapp.net' }));
    expect(incomingDedupId(a)).toBe(incomingDedupId({ ...a }));
    expect(incomingDedupId(a).length).toBeLessThanOrEqual(128);
  });
});
