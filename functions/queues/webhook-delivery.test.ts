import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSRecord } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeWebhookSender } from '#shared/adapters/node-webhook-sender.ts';
import { deliveryGroupId } from '#shared/adapters/sqs-webhook-job-queue.ts';
import type { WebhookDeliveryJob } from '#shared/contracts/webhook-events.ts';
import type { AddressResolver } from '#shared/ports/address-resolver.ts';
import type { WebhookEndpoint } from '#shared/ports/webhook-store.ts';
import { FakeClock } from '#shared/testing/fakes.ts';
import {
  InMemoryDeliveryLog,
  InMemoryWebhookEndpointStore,
  RecordingJobControl,
} from '#shared/testing/in-memory-webhook-stores.ts';
import type { DeliveryHandlerDeps } from './webhook-composition-root.ts';
import { createDeliveryHandler } from './webhook-delivery.ts';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const SESSION_ID = '8a1f7c2e-6d3b-4f4e-9a0b-1c2d3e4f5a6b';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback receiver whose answers are scripted; it records every request it gets. */
const startReceiver = async (answer: (n: number, res: ServerResponse) => void) => {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      answer(received.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { received, port: (server.address() as AddressInfo).port };
};

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Resolves names of the test's choosing; anything else does not resolve. */
class ScriptedResolver implements AddressResolver {
  answers = new Map<string, string>();
  async resolve(hostname: string) {
    const address = this.answers.get(hostname);
    return address ? [{ address, family: 4 as const }] : [];
  }
}

/** `now`: the receiver's verify checks the signed timestamp against the real clock (5 min tolerance). */
const setup = (now?: Date) => {
  const endpoints = new InMemoryWebhookEndpointStore();
  const deliveries = new InMemoryDeliveryLog();
  const control = new RecordingJobControl();
  const resolver = new ScriptedResolver();
  const clock = new FakeClock(now);
  const deps: DeliveryHandlerDeps = {
    endpoints,
    deliveries,
    control,
    resolver,
    clock,
    sender: new NodeWebhookSender(),
    urlOptions: { allowLoopback: true },
    random: () => 0.5,
  };
  const handler = createDeliveryHandler(() => deps);
  const addEndpoint = async (url: string, overrides: Partial<WebhookEndpoint> = {}) => {
    const endpoint: WebhookEndpoint = {
      webhookId: `wh_${Math.random().toString(36).slice(2)}`,
      tenantId: 'tenant-a',
      url,
      events: ['message.status'],
      secret: SECRET,
      createdAt: clock.now().toISOString(),
      ...overrides,
    };
    await endpoints.create(endpoint);
    return endpoint;
  };
  return { deps, endpoints, deliveries, control, resolver, clock, handler, addEndpoint };
};

let counter = 0;
const aJob = (webhookId: string, overrides: Partial<WebhookDeliveryJob> = {}): WebhookDeliveryJob => ({
  v: 1,
  eventId: `evt_${++counter}`,
  webhookId,
  tenantId: 'tenant-a',
  sessionId: SESSION_ID,
  enqueuedAt: '2026-01-01T12:00:00.000Z',
  envelope: {
    type: 'message.status',
    timestamp: '2026-01-01T12:00:00.000Z',
    data: { sessionId: SESSION_ID, messageId: `m-${counter}`, status: 'DELIVERED' },
  },
  ...overrides,
});

const recordOf = (job: WebhookDeliveryJob | string, receive = 1): SQSRecord =>
  ({
    messageId: `sqs-${typeof job === 'string' ? job : job.eventId}`,
    receiptHandle: `rh-${typeof job === 'string' ? job : job.eventId}-${receive}`,
    body: typeof job === 'string' ? job : JSON.stringify(job),
    attributes: {
      ApproximateReceiveCount: String(receive),
      MessageGroupId: typeof job === 'string' ? 'bad' : deliveryGroupId(job),
    },
  }) as unknown as SQSRecord;

const verify = (r: Received) =>
  new Webhook(SECRET).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });

describe('webhook delivery', () => {
  it('retries a receiver that answers 500 three times; the fourth attempt carries the same webhook-id and is delivered', async () => {
    const t = setup(new Date());
    const receiver = await startReceiver((n, res) =>
      res.writeHead(n <= 3 ? 500 : 200).end('body never read'),
    );
    const endpoint = await t.addEndpoint(`http://127.0.0.1:${receiver.port}/hook`);
    const job = aJob(endpoint.webhookId, { enqueuedAt: t.clock.now().toISOString() });

    const responses = [];
    for (let receive = 1; receive <= 4; receive++) {
      // SQS hands the same job again once the visibility the delivery asked for has passed.
      responses.push(await t.handler({ Records: [recordOf(job, receive)] }));
      t.clock.advance(60_000);
    }

    expect(responses.map((r) => r.batchItemFailures.length)).toEqual([1, 1, 1, 0]);
    expect(receiver.received).toHaveLength(4);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([job.eventId]));
    for (const r of receiver.received) expect(verify(r)).toEqual(job.envelope);
    // Exponential backoff (jitter pinned to the middle): 22.5 s, 45 s, 90 s.
    expect(t.control.retries).toEqual([
      { receiptHandle: `rh-${job.eventId}-1`, delaySeconds: 23 },
      { receiptHandle: `rh-${job.eventId}-2`, delaySeconds: 45 },
      { receiptHandle: `rh-${job.eventId}-3`, delaySeconds: 90 },
    ]);
    expect(await t.deliveries.get(endpoint.webhookId, job.eventId)).toMatchObject({
      attempts: 4,
      state: 'delivered',
      lastStatus: 200,
      type: 'message.status',
    });
  });

  it('keeps retrying for 24 h after the first attempt, then marks the delivery failed and lets the job go', async () => {
    const t = setup();
    const receiver = await startReceiver((_n, res) => res.writeHead(503).end());
    const endpoint = await t.addEndpoint(`http://127.0.0.1:${receiver.port}/`);
    const job = aJob(endpoint.webhookId);
    const early = await t.handler({ Records: [recordOf(job, 1)] });
    t.clock.advance(23 * 3_600_000);
    const stillTrying = await t.handler({ Records: [recordOf(job, 2)] });
    t.clock.advance(3_600_000);
    const last = await t.handler({ Records: [recordOf(job, 3)] });

    expect(early.batchItemFailures).toHaveLength(1);
    expect(stillTrying.batchItemFailures).toHaveLength(1);
    expect(last.batchItemFailures).toEqual([]);
    expect(await t.deliveries.get(endpoint.webhookId, job.eventId)).toMatchObject({
      attempts: 3,
      state: 'failed',
      lastStatus: 503,
    });
    // A redelivered copy of a failed job sends nothing more.
    await t.handler({ Records: [recordOf(job, 4)] });
    expect(receiver.received).toHaveLength(3);
  });

  it('gives up after one failed attempt on a job that waited longer than its group can hold it', async () => {
    const t = setup();
    const receiver = await startReceiver((_n, res) => res.writeHead(500).end());
    const endpoint = await t.addEndpoint(`http://127.0.0.1:${receiver.port}/`);
    // Enqueued 13 days ago (behind a failing job of its group): the queue keeps it 14 days at most.
    const job = aJob(endpoint.webhookId, {
      enqueuedAt: new Date(t.clock.now().getTime() - 13 * 86_400_000).toISOString(),
    });
    expect((await t.handler({ Records: [recordOf(job)] })).batchItemFailures).toEqual([]);
    expect(receiver.received).toHaveLength(1);
    expect(await t.deliveries.get(endpoint.webhookId, job.eventId)).toMatchObject({
      attempts: 1,
      state: 'failed',
    });
  });

  it('connects to the vetted address while the name stays the Host, and refuses a name that now resolves to a private address', async () => {
    const t = setup();
    const receiver = await startReceiver((_n, res) => res.writeHead(204).end());
    const endpoint = await t.addEndpoint(`http://receiver.test:${receiver.port}/in`);
    t.resolver.answers.set('receiver.test', '127.0.0.1');
    const first = aJob(endpoint.webhookId);
    expect((await t.handler({ Records: [recordOf(first)] })).batchItemFailures).toEqual([]);
    expect(receiver.received[0]?.headers.host).toBe(`receiver.test:${receiver.port}`);

    t.resolver.answers.set('receiver.test', '10.0.0.7');
    const second = aJob(endpoint.webhookId);
    const response = await t.handler({ Records: [recordOf(second)] });

    expect(response.batchItemFailures).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
    const delivery = await t.deliveries.get(endpoint.webhookId, second.eventId);
    expect(delivery).toMatchObject({ attempts: 1, state: 'pending' });
    expect(delivery?.lastError).toContain('10.0.0.7, a private address');
  });

  it("never lets a dead endpoint's jobs delay another endpoint's in the same batch", async () => {
    const t = setup();
    let hung: ServerResponse | undefined;
    const dead = await startReceiver((_n, res) => {
      hung = res; // never answers
    });
    const live = await startReceiver((_n, res) => res.writeHead(200).end());
    const deadEndpoint = await t.addEndpoint(`http://127.0.0.1:${dead.port}/`);
    const liveEndpoint = await t.addEndpoint(`http://127.0.0.1:${live.port}/`);
    const deadJob = aJob(deadEndpoint.webhookId);
    const liveJob = aJob(liveEndpoint.webhookId);

    const batch = t.handler({ Records: [recordOf(deadJob), recordOf(liveJob)] });
    await expect
      .poll(async () => (await t.deliveries.get(liveEndpoint.webhookId, liveJob.eventId))?.state)
      .toBe('delivered');
    // The live endpoint was served while the dead one still held its request open.
    expect(dead.received).toHaveLength(1);
    expect(hung?.writableEnded).toBe(false);
    hung?.socket?.destroy();
    const response = await batch;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: `sqs-${deadJob.eventId}` }]);
  });

  it('keeps the order of a group: after a failed job, the later jobs of its group wait untried', async () => {
    const t = setup();
    const receiver = await startReceiver((_n, res) => res.writeHead(500).end());
    const endpoint = await t.addEndpoint(`http://127.0.0.1:${receiver.port}/`);
    const a = aJob(endpoint.webhookId);
    const b = aJob(endpoint.webhookId);
    const response = await t.handler({ Records: [recordOf(a), recordOf(b)] });
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      `sqs-${a.eventId}`,
      `sqs-${b.eventId}`,
    ]);
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]?.body ?? '{}').data).toEqual(a.envelope.data);
    expect(await t.deliveries.get(endpoint.webhookId, b.eventId)).toBeUndefined();
  });

  it('drops the jobs of a deleted endpoint and moves an invalid job to the DLQ, blocking nothing', async () => {
    const t = setup();
    const gone = aJob('wh_deleted');
    const response = await t.handler({ Records: [recordOf(gone), recordOf('{"v":2}')] });
    expect(response.batchItemFailures).toEqual([]);
    expect(t.control.deadLetters).toEqual([{ body: '{"v":2}', reason: expect.stringContaining('v') }]);
  });
});
