import { describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../contracts/webhook-events.ts';
import {
  CreatedWebhook,
  CreateWebhookBody,
  DeliveryListResponse,
  WebhookListResponse,
} from '../contracts/webhooks-api.ts';
import { AppError } from '../errors.ts';
import type { AddressResolver } from '../ports/address-resolver.ts';
import { FakeClock } from '../testing/fakes.ts';
import {
  InMemoryDeliveryLog,
  InMemoryWebhookEndpointStore,
  RecordingWebhookJobQueue,
} from '../testing/in-memory-webhook-stores.ts';
import {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  MAX_WEBHOOKS_PER_TENANT,
  testWebhook,
  type WebhookDeps,
} from './webhooks.ts';

const resolver: AddressResolver = {
  resolve: async (host) =>
    ({
      'hooks.example.com': [{ address: '93.184.216.34', family: 4 as const }],
      'internal.example.com': [{ address: '10.1.2.3', family: 4 as const }],
    })[host] ?? [],
};

const deps = () =>
  ({
    endpoints: new InMemoryWebhookEndpointStore(),
    deliveries: new InMemoryDeliveryLog(),
    jobs: new RecordingWebhookJobQueue(),
    resolver,
    clock: new FakeClock(),
    urlOptions: {},
  }) satisfies WebhookDeps;

const rejection = async (promise: Promise<unknown>): Promise<AppError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
};

describe('createWebhook', () => {
  it('stores the endpoint and shows its whsec_ secret once: listings never carry it', async () => {
    const d = deps();
    const created = await createWebhook(d, 'tenant-a', {
      url: 'https://hooks.example.com/in',
      events: ['message.received', 'session.status'],
      chatbotId: 'bot-1',
      description: 'CRM',
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    expect(created).toMatchObject({
      tenantId: 'tenant-a',
      url: 'https://hooks.example.com/in',
      events: ['message.received', 'session.status'],
      chatbotId: 'bot-1',
      description: 'CRM',
    });
    const listed = await listWebhooks(d, 'tenant-a');
    expect(listed.items).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(listed.items[0]).not.toHaveProperty('secret');
    expect((await listWebhooks(d, 'tenant-b')).items).toEqual([]);
  });

  it('subscribes to every event but the test event when no types are named', async () => {
    const created = await createWebhook(deps(), 'tenant-a', { url: 'https://hooks.example.com/' });
    expect(created.events).toEqual(['session.status', 'message.received', 'message.status']);
  });

  it('answers 400 with the reason for a non-public or invalid URL', async () => {
    const d = deps();
    const privateUrl = await rejection(
      createWebhook(d, 'tenant-a', { url: 'https://internal.example.com/' }),
    );
    expect(privateUrl).toMatchObject({ kind: 'invalid', code: 'INVALID_WEBHOOK_URL' });
    expect(privateUrl.message).toContain('10.1.2.3, a private address');
    const http = await rejection(createWebhook(d, 'tenant-a', { url: 'http://hooks.example.com/' }));
    expect(http.details).toEqual([{ path: 'body.url', message: expect.stringContaining('https://') }]);
    const loopback = await rejection(createWebhook(d, 'tenant-a', { url: 'http://127.0.0.1:9000/' }));
    expect(loopback.code).toBe('INVALID_WEBHOOK_URL');
    expect(await d.endpoints.listByTenant('tenant-a')).toEqual([]);
  });

  it('accepts http:// to loopback when the local flag allows it', async () => {
    const d = { ...deps(), urlOptions: { allowLoopback: true } };
    expect((await createWebhook(d, 'tenant-a', { url: 'http://127.0.0.1:9000/hook' })).url).toBe(
      'http://127.0.0.1:9000/hook',
    );
  });

  it('answers 400 listing the valid types for an unknown event type', async () => {
    const error = await rejection(
      createWebhook(deps(), 'tenant-a', { url: 'https://hooks.example.com/', events: ['message.sent'] }),
    );
    expect(error).toMatchObject({ kind: 'invalid', code: 'UNKNOWN_EVENT_TYPE' });
    for (const type of WEBHOOK_EVENT_TYPES) expect(error.message).toContain(type);
  });

  it('caps the endpoints of a tenant', async () => {
    const d = deps();
    for (let i = 0; i < MAX_WEBHOOKS_PER_TENANT; i++) {
      await createWebhook(d, 'tenant-a', { url: 'https://hooks.example.com/' });
    }
    const error = await rejection(createWebhook(d, 'tenant-a', { url: 'https://hooks.example.com/' }));
    expect(error).toMatchObject({ kind: 'conflict', code: 'WEBHOOK_LIMIT' });
  });
});

describe('deleteWebhook, testWebhook, listDeliveries', () => {
  it("answers 404 for another tenant's webhook and leaves it alone", async () => {
    const d = deps();
    const { webhookId } = await createWebhook(d, 'tenant-a', { url: 'https://hooks.example.com/' });
    for (const call of [
      deleteWebhook(d, 'tenant-b', webhookId),
      testWebhook(d, 'tenant-b', webhookId),
      listDeliveries(d, 'tenant-b', webhookId, {}),
    ]) {
      expect(await rejection(call)).toMatchObject({ kind: 'not_found', code: 'WEBHOOK_NOT_FOUND' });
    }
    expect(d.jobs.jobs).toEqual([]);
    await deleteWebhook(d, 'tenant-a', webhookId);
    expect((await listWebhooks(d, 'tenant-a')).items).toEqual([]);
    expect(await rejection(deleteWebhook(d, 'tenant-a', webhookId))).toMatchObject({
      code: 'WEBHOOK_NOT_FOUND',
    });
  });

  it('queues a webhook.test event to that endpoint only, listed as a pending delivery', async () => {
    const d = deps();
    const { webhookId } = await createWebhook(d, 'tenant-a', { url: 'https://hooks.example.com/' });
    const { eventId } = await testWebhook(d, 'tenant-a', webhookId);
    expect(d.jobs.jobs).toEqual([
      expect.objectContaining({
        eventId,
        webhookId,
        tenantId: 'tenant-a',
        envelope: { type: 'webhook.test', timestamp: '2026-01-01T12:00:00.000Z', data: { webhookId } },
      }),
    ]);
    const deliveries = await listDeliveries(d, 'tenant-a', webhookId, {});
    expect(deliveries.items).toEqual([
      expect.objectContaining({ eventId, type: 'webhook.test', state: 'pending', attempts: 0 }),
    ]);
    expect(deliveries.nextCursor).toBeUndefined();
  });

  it('pages deliveries newest first with the cursor of the page before', async () => {
    const d = deps();
    const { webhookId } = await createWebhook(d, 'tenant-a', { url: 'https://hooks.example.com/' });
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await testWebhook(d, 'tenant-a', webhookId)).eventId);
      d.clock.advance(1000);
    }
    const first = await listDeliveries(d, 'tenant-a', webhookId, { limit: 2 });
    const second = await listDeliveries(d, 'tenant-a', webhookId, { limit: 2, cursor: first.nextCursor });
    expect([...first.items, ...second.items].map((x) => x.eventId)).toEqual(ids.reverse());
    expect(second.nextCursor).toBeUndefined();
  });
});

describe('route contracts', () => {
  it('the use cases answer what the webhook routes declare', async () => {
    const d = deps();
    const body = CreateWebhookBody.parse({ url: 'https://hooks.example.com/', events: ['session.status'] });
    const created = await createWebhook(d, 'tenant-a', body);
    expect(CreatedWebhook.safeParse(created).success).toBe(true);
    expect(WebhookListResponse.safeParse(await listWebhooks(d, 'tenant-a')).success).toBe(true);
    await testWebhook(d, 'tenant-a', created.webhookId);
    const deliveries = await listDeliveries(d, 'tenant-a', created.webhookId, {});
    expect(DeliveryListResponse.safeParse(deliveries).success).toBe(true);
    expect(WebhookListResponse.parse(await listWebhooks(d, 'tenant-a')).items[0]).not.toHaveProperty(
      'secret',
    );
  });
});
