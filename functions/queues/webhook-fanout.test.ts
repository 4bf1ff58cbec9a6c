import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { deliveryDedupId, deliveryGroupId } from '#shared/adapters/sqs-webhook-job-queue.ts';
import { DependencyUnavailableError } from '#shared/errors.ts';
import type { WebhookEndpoint } from '#shared/ports/webhook-store.ts';
import { aSession } from '#shared/testing/builders.ts';
import { FakeClock } from '#shared/testing/fakes.ts';
import { InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import {
  InMemoryDeliveryLog,
  InMemoryWebhookEndpointStore,
  RecordingWebhookJobQueue,
} from '#shared/testing/in-memory-webhook-stores.ts';
import type { FanoutDeps } from '#shared/use-cases/webhook-fanout.ts';
import { createFanoutHandler } from './webhook-fanout.ts';

const SESSION_ID = '8a1f7c2e-6d3b-4f4e-9a0b-1c2d3e4f5a6b';

/** A plain item as a stream image (what DynamoDB Streams hands Lambda). */
const image = (item: Record<string, unknown>): Record<string, AttributeValue> =>
  Object.fromEntries(
    Object.entries(item).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : { S: String(v) }]),
  );

let sequence = 100;
const record = (
  eventName: 'INSERT' | 'MODIFY',
  newItem: Record<string, unknown>,
  oldItem?: Record<string, unknown>,
): DynamoDBRecord => ({
  eventName,
  eventSource: 'aws:dynamodb',
  dynamodb: {
    Keys: { pk: { S: String(newItem.pk) } },
    NewImage: image(newItem),
    ...(oldItem && { OldImage: image(oldItem) }),
    SequenceNumber: String(++sequence),
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
});

const sessionItem = (status: string, extra: Record<string, unknown> = {}) => ({
  pk: `SESSION#${SESSION_ID}`,
  sessionId: SESSION_ID,
  tenantId: 'tenant-a',
  chatbotId: 'bot-1',
  shard: 0,
  status,
  updatedAt: '2026-01-01T12:00:01.000Z',
  ...extra,
});

const inboundItem = {
  pk: 'MESSAGE#in-1',
  messageId: 'in-1',
  tenantId: 'tenant-a',
  sessionId: SESSION_ID,
  conversationId: 'conv-1',
  direction: 'in',
  from: '15550001111@s.whatsapp.net',
  text: 'hello',
  status: 'DELIVERED',
  waMessageId: 'WA-IN-1',
  createdAt: '2026-01-01T12:00:05.000Z',
  updatedAt: '2026-01-01T12:00:05.000Z',
};

const setup = async (endpoints: Partial<WebhookEndpoint>[]) => {
  const store = new InMemoryWebhookEndpointStore();
  for (const [i, e] of endpoints.entries()) {
    await store.create({
      webhookId: `wh_${i}`,
      tenantId: 'tenant-a',
      url: 'https://hooks.example.com/',
      events: ['session.status', 'message.received', 'message.status'],
      secret: 'whsec_x',
      createdAt: `2026-01-01T00:00:0${i}.000Z`,
      ...e,
    });
  }
  const sessions = new InMemorySessionStore();
  await sessions.create(aSession({ sessionId: SESSION_ID, chatbotId: 'bot-1' }));
  const deps = {
    endpoints: store,
    deliveries: new InMemoryDeliveryLog(),
    sessions,
    jobs: new RecordingWebhookJobQueue(),
    clock: new FakeClock(),
  } satisfies FanoutDeps;
  return { deps, handler: createFanoutHandler(() => deps) };
};

describe('webhook fan-out', () => {
  it('enqueues one job per matching endpoint, in event order, grouped per endpoint and session', async () => {
    const { deps, handler } = await setup([
      {},
      { events: ['message.received'] },
      { chatbotId: 'bot-2' },
      { tenantId: 'tenant-b' },
    ]);
    const event: DynamoDBStreamEvent = {
      Records: [
        record('MODIFY', sessionItem('QR_READY', { qr: 'qr-1' }), sessionItem('CONNECTING')),
        record('INSERT', inboundItem),
        record(
          'MODIFY',
          sessionItem('CONNECTED', { updatedAt: '2026-01-01T12:00:09.000Z' }),
          sessionItem('QR_READY'),
        ),
      ],
    };
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(deps.jobs.jobs.map((j) => [j.webhookId, j.envelope.type])).toEqual([
      ['wh_0', 'session.status'],
      ['wh_0', 'message.received'],
      ['wh_1', 'message.received'],
      ['wh_0', 'session.status'],
    ]);
    const received = deps.jobs.jobs[1];
    // The message item has no chatbot: the fan-out took it from the session.
    expect(received?.envelope.data).toMatchObject({ chatbotId: 'bot-1', text: 'hello', messageId: 'in-1' });
    expect(deps.jobs.jobs[0]?.envelope.data).toMatchObject({ status: 'QR_READY', qr: 'qr-1' });
    expect(deliveryGroupId(deps.jobs.jobs[0] as never)).toBe(`wh_0:${SESSION_ID}`);
    expect((await deps.deliveries.list('wh_0', { limit: 10 })).items).toHaveLength(3);
  });

  it('produces the same jobs (ids and dedup ids) for a redelivered batch, and records no delivery twice', async () => {
    const { deps, handler } = await setup([{}]);
    const event = { Records: [record('INSERT', inboundItem)] };
    await handler(event);
    await handler(structuredClone(event));
    const [a, b] = deps.jobs.jobs;
    expect(a?.eventId).toBe(b?.eventId);
    expect(deliveryDedupId(a as never)).toBe(deliveryDedupId(b as never));
    expect(deliveryDedupId(a as never).length).toBeLessThanOrEqual(128);
    expect((await deps.deliveries.list('wh_0', { limit: 10 })).items).toHaveLength(1);
  });

  it('enqueues nothing for unrelated changes or tenants without endpoints', async () => {
    const { deps, handler } = await setup([{ tenantId: 'tenant-b' }]);
    await handler({
      Records: [
        record('INSERT', inboundItem),
        record('MODIFY', sessionItem('CONNECTED', { runnerSeenAt: 'x' }), sessionItem('CONNECTED')),
        record('INSERT', { pk: 'CONVERSATION#conv-1', tenantId: 'tenant-a' }),
      ],
    });
    expect(deps.jobs.jobs).toEqual([]);
  });

  it('reports the first record failed when the queue is down, so the stream retries the batch', async () => {
    const { deps, handler } = await setup([{}]);
    deps.jobs.failNext = new DependencyUnavailableError('sqs');
    const event = {
      Records: [
        record('INSERT', inboundItem),
        record('MODIFY', sessionItem('CONNECTED'), sessionItem('QR_READY')),
      ],
    };
    const response = await handler(event);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: event.Records[0]?.dynamodb?.SequenceNumber },
    ]);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(deps.jobs.jobs).toHaveLength(2);
  });
});
