import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { DynamoDeliveryLog } from '#shared/adapters/dynamodb-webhook-stores.ts';
import { WEBHOOK_EVENT_TYPES } from '#shared/contracts/webhook-events.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// The webhook routes over real HTTP: local API gateway → authorizer → middy handlers → DynamoDB
// Local and the webhook-deliveries queue on fauxqs. Loopback URLs are refused here (as in AWS).

let aws: TestAws;
let api: LocalApi;
let keyA: string;
let keyB: string;
/** A public address given literally, so no DNS is needed. */
const PUBLIC_URL = 'https://93.184.216.34/hooks/whatsapp';

// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
const call = async (method: string, path: string, body?: unknown, key = keyA): Promise<any> => {
  const response = await fetch(`${api.url}/whatsapp-qr${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};
const create = (body: unknown, key = keyA) => call('POST', '/webhooks', body, key);

beforeAll(async () => {
  aws = await provisionTestAws();
  delete process.env.WEBHOOK_ALLOW_LOOPBACK;
  Object.assign(process.env, aws.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  keyA = (await createTenant({ tenants, clock: systemClock }, 'Tenant A')).apiKey;
  keyB = (await createTenant({ tenants, clock: systemClock }, 'Tenant B')).apiKey;
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

describe('POST and GET /whatsapp-qr/webhooks', () => {
  it('shows the whsec_ secret once at creation and never in the list', async () => {
    const created = await create({ url: PUBLIC_URL, events: ['message.received'], description: 'CRM' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      webhookId: expect.stringMatching(/^wh_/),
      url: PUBLIC_URL,
      events: ['message.received'],
      description: 'CRM',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/=]{40,}$/),
    });
    const list = await call('GET', '/webhooks');
    expect(list.status).toBe(200);
    const listed = list.body.items.find((w: { webhookId: string }) => w.webhookId === created.body.webhookId);
    const { secret: _secret, ...withoutSecret } = created.body;
    expect(listed).toEqual(withoutSecret);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
  });

  it('subscribes to every event but the test event when none are named, filtered by chatbot when given', async () => {
    const created = await create({ url: PUBLIC_URL, chatbotId: 'shop' });
    expect(created.status).toBe(201);
    expect(created.body.events).toEqual(WEBHOOK_EVENT_TYPES.filter((t) => t !== 'webhook.test'));
    expect(created.body.chatbotId).toBe('shop');
  });

  it("lists only the tenant's own endpoints", async () => {
    const mine = await create({ url: PUBLIC_URL }, keyB);
    const listB = await call('GET', '/webhooks', undefined, keyB);
    expect(listB.body.items.map((w: { webhookId: string }) => w.webhookId)).toEqual([mine.body.webhookId]);
    const listA = await call('GET', '/webhooks');
    expect(listA.body.items.map((w: { webhookId: string }) => w.webhookId)).not.toContain(
      mine.body.webhookId,
    );
  });

  it.each([
    ['https://127.0.0.1:8443/hook', /127\.0\.0\.1, a loopback address/],
    ['http://127.0.0.1:8080/hook', /must be an https:\/\/ URL/],
    ['https://10.1.2.3/hook', /10\.1\.2\.3, a private address/],
    ['https://169.254.169.254/latest/meta-data', /the cloud metadata address/],
    ['ftp://93.184.216.34/hook', /must be an https:\/\/ URL/],
    ['not a url', /must be an absolute URL/],
  ])('answers 400 INVALID_WEBHOOK_URL with the reason for %s', async (url, reason) => {
    const res = await create({ url });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_WEBHOOK_URL');
    expect(res.body.error.message).toMatch(reason);
    expect(res.body.error.details).toEqual([{ path: 'body.url', message: expect.stringMatching(reason) }]);
  });

  it('answers 400 UNKNOWN_EVENT_TYPE listing the valid types', async () => {
    const res = await create({ url: PUBLIC_URL, events: ['message.received', 'message.deleted'] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('UNKNOWN_EVENT_TYPE');
    expect(res.body.error.message).toContain('message.deleted');
    for (const type of WEBHOOK_EVENT_TYPES) expect(res.body.error.message).toContain(type);
  });

  it('answers 400 VALIDATION_FAILED for a body without a URL', async () => {
    const res = await create({ events: ['message.received'] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('body.url');
  });
});

describe('DELETE /whatsapp-qr/webhooks/{webhookId}', () => {
  it('deletes the endpoint (204), after which its id answers 404', async () => {
    const { webhookId } = (await create({ url: PUBLIC_URL })).body;
    const deleted = await call('DELETE', `/webhooks/${webhookId}`);
    expect([deleted.status, deleted.body]).toEqual([204, undefined]);
    const again = await call('DELETE', `/webhooks/${webhookId}`);
    expect([again.status, again.body.error.code]).toEqual([404, 'WEBHOOK_NOT_FOUND']);
    expect((await call('GET', `/webhooks/${webhookId}/deliveries`)).status).toBe(404);
    const list = await call('GET', '/webhooks');
    expect(list.body.items.map((w: { webhookId: string }) => w.webhookId)).not.toContain(webhookId);
  });

  it("answers 404 for another tenant's endpoint on every webhook route, and leaves it alone", async () => {
    const { webhookId } = (await create({ url: PUBLIC_URL }, keyB)).body;
    for (const [method, path] of [
      ['DELETE', `/webhooks/${webhookId}`],
      ['POST', `/webhooks/${webhookId}/test`],
      ['GET', `/webhooks/${webhookId}/deliveries`],
    ] as const) {
      const res = await call(method, path);
      expect([res.status, res.body.error.code], `${method} ${path}`).toEqual([404, 'WEBHOOK_NOT_FOUND']);
    }
    const listB = await call('GET', '/webhooks', undefined, keyB);
    expect(listB.body.items.map((w: { webhookId: string }) => w.webhookId)).toContain(webhookId);
  });

  it('answers 400 for an id that is not a webhook id', async () => {
    const res = await call('DELETE', '/webhooks/not-an-id');
    expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('POST /whatsapp-qr/webhooks/{webhookId}/test', () => {
  it('queues one webhook.test job for that endpoint (202) and lists its delivery as pending', async () => {
    await drainQueue(aws.clients.sqs, aws.env.WEBHOOK_DELIVERY_QUEUE_URL);
    const { webhookId } = (await create({ url: PUBLIC_URL })).body;
    const res = await call('POST', `/webhooks/${webhookId}/test`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ eventId: expect.any(String) });
    const jobs = await drainQueue(aws.clients.sqs, aws.env.WEBHOOK_DELIVERY_QUEUE_URL);
    expect(jobs).toEqual([
      expect.objectContaining({
        eventId: res.body.eventId,
        webhookId,
        envelope: { type: 'webhook.test', timestamp: expect.any(String), data: { webhookId } },
      }),
    ]);
    const deliveries = await call('GET', `/webhooks/${webhookId}/deliveries`);
    expect(deliveries.body.items).toEqual([
      expect.objectContaining({
        eventId: res.body.eventId,
        type: 'webhook.test',
        state: 'pending',
        attempts: 0,
      }),
    ]);
  });
});

describe('GET /whatsapp-qr/webhooks/{webhookId}/deliveries', () => {
  it('pages the deliveries newest first with nextCursor, the last page without one', async () => {
    const { webhookId } = (await create({ url: PUBLIC_URL })).body;
    const log = new DynamoDeliveryLog(new DynamoTable(aws.clients.dynamo, aws.env.WEBHOOKS_TABLE as string));
    for (const minute of [1, 2, 3]) {
      await log.recordPending({
        webhookId,
        eventId: `evt-${minute}`,
        type: 'message.received',
        createdAt: `2026-03-01T10:0${minute}:00.000Z`,
      });
    }
    await log.recordAttempt(
      { webhookId, eventId: 'evt-3', type: 'message.received', createdAt: '2026-03-01T10:03:00.000Z' },
      { state: 'pending', lastStatus: 500, now: '2026-03-01T10:03:01.000Z' },
    );
    const first = await call('GET', `/webhooks/${webhookId}/deliveries?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      expect.objectContaining({ eventId: 'evt-3', attempts: 1, state: 'pending', lastStatus: 500 }),
      expect.objectContaining({ eventId: 'evt-2', attempts: 0, state: 'pending' }),
    ]);
    const cursor = encodeURIComponent(first.body.nextCursor);
    const second = await call('GET', `/webhooks/${webhookId}/deliveries?limit=2&cursor=${cursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ eventId: 'evt-1' })] });
    const bad = await call('GET', `/webhooks/${webhookId}/deliveries?cursor=garbage&limit=0`);
    expect(bad.status).toBe(400);
  });
});

describe('GET /whatsapp-qr/openapi.json', () => {
  it('documents the webhook routes and, under `webhooks`, the body of every event type', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/whatsapp-qr/webhooks']).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/whatsapp-qr/webhooks/{webhookId}'].delete.responses['204']).toBeDefined();
    expect(doc.paths['/whatsapp-qr/webhooks/{webhookId}/test'].post.responses['202']).toBeDefined();
    const deliveries = doc.paths['/whatsapp-qr/webhooks/{webhookId}/deliveries'].get;
    expect(deliveries.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'cursor',
      'limit',
      'webhookId',
    ]);
    expect(Object.keys(doc.webhooks)).toEqual(WEBHOOK_EVENT_TYPES);
    const status = doc.webhooks['session.status'].post;
    expect(status.parameters.map((p: { name: string }) => p.name)).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ]);
    const body = status.requestBody.content['application/json'].schema;
    expect(body.properties.type.const).toBe('session.status');
    expect(Object.keys(body.properties.data.properties)).toEqual(
      expect.arrayContaining(['sessionId', 'chatbotId', 'status', 'previousStatus', 'qr']),
    );
  });
});
