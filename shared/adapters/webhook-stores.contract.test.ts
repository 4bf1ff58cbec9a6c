import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import { InvalidCursorError } from '../ports/page.ts';
import type { DeliveryLog, WebhookEndpoint, WebhookEndpointStore } from '../ports/webhook-store.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { InMemoryDeliveryLog, InMemoryWebhookEndpointStore } from '../testing/in-memory-webhook-stores.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { DynamoDeliveryLog, DynamoWebhookEndpointStore } from './dynamodb-webhook-stores.ts';

interface Stores {
  endpoints: WebhookEndpointStore;
  deliveries: DeliveryLog;
}

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

const dynamoStores = (): Stores => {
  const table = new DynamoTable(aws.clients.dynamo, aws.env.WEBHOOKS_TABLE as string);
  return { endpoints: new DynamoWebhookEndpointStore(table), deliveries: new DynamoDeliveryLog(table) };
};
const memoryStores = (): Stores => ({
  endpoints: new InMemoryWebhookEndpointStore(),
  deliveries: new InMemoryDeliveryLog(),
});

const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`;
const anEndpoint = (overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint => ({
  webhookId: unique('wh'),
  tenantId: 'tenant-a',
  url: 'https://hooks.example.com/in',
  events: ['session.status'],
  secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
  createdAt: '2026-01-01T12:00:00.000Z',
  ...overrides,
});

describe.each([
  ['in-memory fakes', memoryStores],
  ['DynamoDB adapters on DynamoDB Local', dynamoStores],
])('webhook store contract: %s', (_name, make) => {
  let s: Stores;
  beforeAll(() => {
    s = make();
  });

  describe('endpoints', () => {
    it('creates an endpoint once and reads it back whole', async () => {
      const endpoint = anEndpoint({ chatbotId: 'bot-1', description: 'CRM', events: ['message.received'] });
      expect(await s.endpoints.create(endpoint)).toBe(true);
      expect(await s.endpoints.create({ ...endpoint, url: 'https://other.example.com/' })).toBe(false);
      expect(await s.endpoints.get(endpoint.webhookId)).toEqual(endpoint);
    });

    it("lists a tenant's endpoints oldest first, and no one else's", async () => {
      const tenantId = unique('tenant');
      const later = anEndpoint({ tenantId, createdAt: '2026-01-02T00:00:00.000Z' });
      const earlier = anEndpoint({ tenantId, createdAt: '2026-01-01T00:00:00.000Z' });
      await s.endpoints.create(later);
      await s.endpoints.create(earlier);
      await s.endpoints.create(anEndpoint({ tenantId: unique('other') }));
      expect(await s.endpoints.listByTenant(tenantId)).toEqual([earlier, later]);
    });

    it("deletes the tenant's own endpoint only", async () => {
      const endpoint = anEndpoint();
      await s.endpoints.create(endpoint);
      expect(await s.endpoints.delete('tenant-b', endpoint.webhookId)).toBe(false);
      expect(await s.endpoints.get(endpoint.webhookId)).toBeDefined();
      expect(await s.endpoints.delete(endpoint.tenantId, endpoint.webhookId)).toBe(true);
      expect(await s.endpoints.get(endpoint.webhookId)).toBeUndefined();
      expect(await s.endpoints.delete(endpoint.tenantId, endpoint.webhookId)).toBe(false);
    });
  });

  describe('deliveries', () => {
    const delivery = (webhookId: string, eventId: string, createdAt = '2026-01-01T12:00:00.000Z') => ({
      webhookId,
      eventId,
      type: 'session.status' as const,
      createdAt,
    });

    it('records a pending delivery once; a second record changes nothing', async () => {
      const webhookId = unique('wh');
      await s.deliveries.recordPending(delivery(webhookId, 'evt_1'));
      await s.deliveries.recordAttempt(delivery(webhookId, 'evt_1'), {
        state: 'pending',
        lastStatus: 500,
        now: '2026-01-01T12:00:01.000Z',
      });
      await s.deliveries.recordPending(delivery(webhookId, 'evt_1'));
      expect(await s.deliveries.get(webhookId, 'evt_1')).toMatchObject({ attempts: 1, lastStatus: 500 });
    });

    it('counts attempts, keeps the first attempt time, and replaces the last outcome', async () => {
      const webhookId = unique('wh');
      const d = delivery(webhookId, 'evt_a');
      await s.deliveries.recordPending(d);
      expect(await s.deliveries.get(webhookId, 'evt_a')).toEqual({
        ...d,
        attempts: 0,
        state: 'pending',
        updatedAt: d.createdAt,
      });
      const first = await s.deliveries.recordAttempt(d, {
        state: 'pending',
        lastStatus: 503,
        now: '2026-01-01T12:00:01.000Z',
      });
      expect(first).toMatchObject({
        attempts: 1,
        state: 'pending',
        lastStatus: 503,
        firstAttemptAt: '2026-01-01T12:00:01.000Z',
      });
      const second = await s.deliveries.recordAttempt(d, {
        state: 'pending',
        lastError: 'timeout after 10000 ms',
        now: '2026-01-01T12:01:00.000Z',
      });
      expect(second).toEqual({
        ...d,
        attempts: 2,
        state: 'pending',
        lastError: 'timeout after 10000 ms',
        firstAttemptAt: '2026-01-01T12:00:01.000Z',
        updatedAt: '2026-01-01T12:01:00.000Z',
      });
      const third = await s.deliveries.recordAttempt(d, {
        state: 'delivered',
        lastStatus: 204,
        now: '2026-01-01T12:05:00.000Z',
      });
      expect(third).toMatchObject({ attempts: 3, state: 'delivered', lastStatus: 204 });
      expect(third.lastError).toBeUndefined();
    });

    it('keeps a final delivery unchanged when a redelivered job records another attempt', async () => {
      const webhookId = unique('wh');
      const d = delivery(webhookId, 'evt_f');
      await s.deliveries.recordAttempt(d, {
        state: 'failed',
        lastStatus: 500,
        now: '2026-01-02T12:00:00.000Z',
      });
      const again = await s.deliveries.recordAttempt(d, {
        state: 'delivered',
        lastStatus: 200,
        now: '2026-01-02T13:00:00.000Z',
      });
      expect(again).toMatchObject({ attempts: 1, state: 'failed', lastStatus: 500 });
    });

    it("pages an endpoint's deliveries newest first, and only its own", async () => {
      const webhookId = unique('wh');
      for (let i = 0; i < 5; i++) {
        await s.deliveries.recordPending(delivery(webhookId, `evt_${i}`, `2026-01-01T12:00:0${i}.000Z`));
      }
      await s.deliveries.recordPending(delivery(unique('other'), 'evt_x', '2026-01-01T13:00:00.000Z'));
      const first = await s.deliveries.list(webhookId, { limit: 2 });
      expect(first.items.map((d) => d.eventId)).toEqual(['evt_4', 'evt_3']);
      expect(first.nextCursor).toBeDefined();
      const second = await s.deliveries.list(webhookId, { limit: 2, cursor: first.nextCursor as string });
      expect(second.items.map((d) => d.eventId)).toEqual(['evt_2', 'evt_1']);
      const last = await s.deliveries.list(webhookId, { limit: 2, cursor: second.nextCursor as string });
      expect(last.items.map((d) => d.eventId)).toEqual(['evt_0']);
      expect(last.nextCursor).toBeUndefined();
    });

    const aJob = (webhookId: string, eventId: string, timestamp: string, sessionId = 'session-1') =>
      ({
        v: 1,
        eventId,
        webhookId,
        tenantId: 'tenant-a',
        sessionId,
        enqueuedAt: '2026-01-01T12:00:30.000Z',
        envelope: {
          type: 'session.status',
          timestamp,
          data: { sessionId, chatbotId: 'bot-1', status: 'CONNECTED' },
        },
      }) satisfies WebhookDeliveryJob;
    const pendingWith = (job: WebhookDeliveryJob) =>
      s.deliveries.recordPending(delivery(job.webhookId, job.eventId, job.envelope.timestamp), job);

    it("lists a group's pending jobs that happened strictly before a time, oldest first, and only its group's", async () => {
      const webhookId = unique('wh');
      const late = aJob(webhookId, 'evt_c', '2026-01-01T12:00:03.000Z');
      const first = aJob(webhookId, 'evt_b', '2026-01-01T12:00:01.000Z');
      const sameTimeLowerId = aJob(webhookId, 'evt_a', '2026-01-01T12:00:02.000Z');
      const sameTime = aJob(webhookId, 'evt_z', '2026-01-01T12:00:02.000Z');
      for (const job of [late, sameTime, first, sameTimeLowerId]) await pendingWith(job);
      await pendingWith(aJob(webhookId, 'evt_other_session', '2026-01-01T12:00:00.500Z', 'session-2'));
      await pendingWith(aJob(unique('wh'), 'evt_other_endpoint', '2026-01-01T12:00:00.500Z'));
      await s.deliveries.recordPending(delivery(webhookId, 'evt_without_job', '2026-01-01T12:00:00.100Z'));

      expect(await s.deliveries.pendingBefore(webhookId, 'session-1', late.envelope.timestamp, 10)).toEqual([
        first,
        sameTimeLowerId,
        sameTime,
      ]);
      // Strictly before: the events of the very same time are not older.
      expect(
        await s.deliveries.pendingBefore(webhookId, 'session-1', sameTime.envelope.timestamp, 10),
      ).toEqual([first]);
      expect(await s.deliveries.pendingBefore(webhookId, 'session-1', late.envelope.timestamp, 2)).toEqual([
        first,
        sameTimeLowerId,
      ]);
      // The listing shows the delivery, never its stored job.
      expect(await s.deliveries.get(webhookId, 'evt_b')).toEqual({
        ...delivery(webhookId, 'evt_b', first.envelope.timestamp),
        attempts: 0,
        state: 'pending',
        updatedAt: first.envelope.timestamp,
      });
    });

    it('keeps a delivery among the pending while it is retried and drops it once final', async () => {
      const webhookId = unique('wh');
      const a = aJob(webhookId, 'evt_a', '2026-01-01T12:00:01.000Z');
      const b = aJob(webhookId, 'evt_b', '2026-01-01T12:00:02.000Z');
      await pendingWith(a);
      await pendingWith(b);
      const key = (j: WebhookDeliveryJob) => delivery(webhookId, j.eventId, j.envelope.timestamp);
      await s.deliveries.recordAttempt(key(a), {
        state: 'pending',
        lastStatus: 500,
        now: '2026-01-01T12:01:00Z',
      });
      const before = '2026-01-01T12:00:09.000Z';
      expect(await s.deliveries.pendingBefore(webhookId, 'session-1', before, 10)).toEqual([a, b]);
      await s.deliveries.recordAttempt(key(a), {
        state: 'delivered',
        lastStatus: 200,
        now: '2026-01-01T12:02:00Z',
      });
      await s.deliveries.recordAttempt(key(b), {
        state: 'failed',
        lastStatus: 500,
        now: '2026-01-01T12:02:00Z',
      });
      expect(await s.deliveries.pendingBefore(webhookId, 'session-1', before, 10)).toEqual([]);
      expect(await s.deliveries.get(webhookId, 'evt_a')).toMatchObject({ state: 'delivered', attempts: 2 });
    });

    it('orders by the UTC time of the event whatever offset its timestamp was written with', async () => {
      const webhookId = unique('wh');
      // 13:00:05+02:00 is 11:00:05Z: before 12:00:00Z, though its text sorts after it.
      const offset = aJob(webhookId, 'evt_offset', '2026-01-01T13:00:05.000+02:00');
      const utc = aJob(webhookId, 'evt_utc', '2026-01-01T11:30:00.000Z');
      await pendingWith(offset);
      await pendingWith(utc);
      expect(
        await s.deliveries.pendingBefore(webhookId, 'session-1', '2026-01-01T12:00:00.000Z', 10),
      ).toEqual([offset, utc]);
      expect(
        await s.deliveries.pendingBefore(webhookId, 'session-1', '2026-01-01T13:20:00.000+02:00', 10),
      ).toEqual([offset]);
    });

    it("refuses a cursor of another endpoint's listing or a forged one as invalid", async () => {
      const a = unique('wh');
      const b = unique('wh');
      for (const id of [a, b]) {
        await s.deliveries.recordPending(delivery(id, 'evt_1', '2026-01-01T12:00:01.000Z'));
        await s.deliveries.recordPending(delivery(id, 'evt_2', '2026-01-01T12:00:02.000Z'));
      }
      const page = await s.deliveries.list(a, { limit: 1 });
      await expect(
        s.deliveries.list(b, { limit: 1, cursor: page.nextCursor as string }),
      ).rejects.toBeInstanceOf(InvalidCursorError);
      await expect(s.deliveries.list(a, { limit: 1, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
        InvalidCursorError,
      );
    });
  });
});
