import { describe, expect, it } from 'vitest';
import type { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import type { WebhookRequest, WebhookSender } from '../ports/webhook-delivery.ts';
import { FakeClock } from '../testing/fakes.ts';
import { InMemoryDeliveryLog, InMemoryWebhookEndpointStore } from '../testing/in-memory-webhook-stores.ts';
import { type DeliveryDeps, deliverInOrder } from './webhook-delivery.ts';

const SESSION = 'session-1';
const T0 = Date.parse('2026-01-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Answers 204 (or what `answer` says) and records the event ids in the order they were sent. */
class RecordingSender implements WebhookSender {
  readonly sent: string[] = [];
  answer: (eventId: string) => number = () => 204;
  async send(request: WebhookRequest) {
    const eventId = request.headers['webhook-id'] as string;
    this.sent.push(eventId);
    return { status: this.answer(eventId) };
  }
}

const aJob = (eventId: string, at: number): WebhookDeliveryJob => ({
  v: 1,
  eventId,
  webhookId: 'wh_1',
  tenantId: 'tenant-a',
  sessionId: SESSION,
  enqueuedAt: iso(at),
  envelope: {
    type: 'session.status',
    timestamp: iso(at),
    data: { sessionId: SESSION, chatbotId: 'bot-1', status: 'CONNECTED' },
  },
});

const setup = async (now = T0 + 60_000) => {
  const endpoints = new InMemoryWebhookEndpointStore();
  await endpoints.create({
    webhookId: 'wh_1',
    tenantId: 'tenant-a',
    url: 'https://93.184.216.34/hook',
    events: ['session.status'],
    secret: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
    createdAt: iso(T0),
  });
  const deliveries = new InMemoryDeliveryLog();
  const sender = new RecordingSender();
  const clock = new FakeClock(new Date(now));
  const sleeps: number[] = [];
  const deps: DeliveryDeps = {
    endpoints,
    deliveries,
    resolver: { resolve: async () => [] },
    sender,
    clock,
    urlOptions: {},
    random: () => 0.5,
    settleMs: 2_000,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
  };
  const pending = async (job: WebhookDeliveryJob) =>
    deliveries.recordPending(
      {
        webhookId: job.webhookId,
        eventId: job.eventId,
        type: job.envelope.type,
        createdAt: job.envelope.timestamp,
      },
      job,
    );
  return { deps, deliveries, sender, sleeps, pending };
};

describe('deliverInOrder', () => {
  it("delivers every older pending delivery of the group, page after page, oldest first, then the job's own", async () => {
    const t = await setup();
    const job = aJob('evt_last', T0 + 30_000);
    await t.pending(job);
    // 13 older ones, recorded newest first: more than one page of the index.
    const older = Array.from({ length: 13 }, (_, i) =>
      aJob(`evt_${String(i).padStart(2, '0')}`, T0 + i * 1_000),
    );
    for (const o of [...older].reverse()) await t.pending(o);
    await t.pending(aJob('evt_younger', T0 + 40_000));

    expect(await deliverInOrder(t.deps, job)).toMatchObject({ outcome: 'delivered' });
    expect(t.sender.sent).toEqual([...older.map((o) => o.eventId), 'evt_last']);
    expect(t.sleeps).toEqual([]); // settled long ago
  });

  it('tries an index entry that is still listed after it became final only once, and goes on', async () => {
    const t = await setup();
    const job = aJob('evt_job', T0 + 5_000);
    const stale = aJob('evt_stale', T0);
    await t.pending(job);
    await t.pending(stale);
    await t.deps.deliveries.recordAttempt(
      {
        webhookId: 'wh_1',
        eventId: 'evt_stale',
        type: 'session.status',
        createdAt: stale.envelope.timestamp,
      },
      { state: 'delivered', lastStatus: 204, now: iso(T0 + 1_000) },
    );
    // An eventually consistent index: the final delivery is still listed, a full page of it.
    const log = t.deliveries;
    t.deps.deliveries = {
      get: (w, e) => log.get(w, e),
      recordAttempt: (d, o) => log.recordAttempt(d, o),
      pendingBefore: async (_w, _s, _b, limit) => Array.from({ length: limit }, () => stale),
    };
    expect(await deliverInOrder(t.deps, job)).toMatchObject({ outcome: 'delivered' });
    expect(t.sender.sent).toEqual(['evt_job']);
  });

  it("holds a job at most the settle window when its event's time is ahead of the worker's clock", async () => {
    const t = await setup(T0);
    const ahead = aJob('evt_ahead', T0 + 3_600_000); // a writer whose clock is an hour fast
    await t.pending(ahead);
    expect(await deliverInOrder(t.deps, ahead)).toMatchObject({ outcome: 'delivered' });
    expect(t.sleeps).toEqual([2_000]);
  });

  it('holds the job back with an older delivery that must be retried, naming it', async () => {
    const t = await setup();
    t.sender.answer = (eventId) => (eventId === 'evt_old' ? 503 : 204);
    const job = aJob('evt_new', T0 + 2_000);
    await t.pending(aJob('evt_old', T0));
    await t.pending(job);
    expect(await deliverInOrder(t.deps, job)).toMatchObject({
      outcome: 'retry',
      heldBy: 'evt_old',
      retryInSeconds: 23,
    });
    expect(t.sender.sent).toEqual(['evt_old']);
    expect(await t.deliveries.get('wh_1', 'evt_new')).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('stops before an attempt when the worker has no time left, leaving the job untried', async () => {
    const t = await setup();
    const job = aJob('evt_new', T0 + 2_000);
    await t.pending(aJob('evt_old', T0));
    await t.pending(job);
    let attempts = 1;
    const result = await deliverInOrder(t.deps, job, { canAttempt: () => attempts-- > 0 });
    expect(result).toEqual({ outcome: 'no-time' });
    expect(t.sender.sent).toEqual(['evt_old']);
  });
});
