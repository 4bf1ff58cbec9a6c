import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '#functions/queues/webhook-composition-root.ts';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoDeliveryLog, DynamoWebhookEndpointStore } from '#shared/adapters/dynamodb-webhook-stores.ts';
import { systemAddressResolver } from '#shared/adapters/node-webhook-sender.ts';
import { SqsWebhookJobQueue } from '#shared/adapters/sqs-webhook-job-queue.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { aMessage, aSession } from '#shared/testing/builders.ts';
import { createWebhook, listDeliveries, type WebhookDeps } from '#shared/use-cases/webhooks.ts';
import { startWebhookPipeline } from './webhook-pipeline.ts';

const SETTLE_MS = 5_000;
let aws: TestAws;
let stop: (() => Promise<void>) | undefined;
let server: Server;
const received: { headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  aws = await provisionTestAws();
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stop = await startWebhookPipeline({
    // A wider settle window than the default 2 s: the streams' pollers are slow on a loaded machine.
    env: { ...aws.env, POWERTOOLS_LOG_LEVEL: 'WARN', WEBHOOK_SETTLE_MS: String(SETTLE_MS) },
  });
});
afterAll(async () => {
  await stop?.();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  aws?.destroy();
});

describe('webhook pipeline on the local stand-ins', () => {
  it("logs at the stack's level, though its logger was built before the stack chose it", () => {
    expect(logger.getLevelName()).toBe('WARN');
  });

  it('delivers signed session.status, message.received and message.status events from stored changes, in order', async () => {
    const table = (key: string) => new DynamoTable(aws.clients.dynamo, aws.env[key] as string);
    const webhooks = table('WEBHOOKS_TABLE');
    const deps: WebhookDeps = {
      endpoints: new DynamoWebhookEndpointStore(webhooks),
      deliveries: new DynamoDeliveryLog(webhooks),
      jobs: new SqsWebhookJobQueue(aws.clients.sqs, aws.env.WEBHOOK_DELIVERY_QUEUE_URL as string),
      resolver: systemAddressResolver,
      clock: systemClock,
      urlOptions: { allowLoopback: true },
    };
    const port = (server.address() as AddressInfo).port;
    const endpoint = await createWebhook(deps, 'tenant-a', { url: `http://127.0.0.1:${port}/hook` });

    const sessions = new DynamoSessionStore(table('SESSIONS_TABLE'));
    const session = aSession({ status: 'DISCONNECTED' });
    await sessions.create(session);
    const at = (s: number) => `2026-01-01T12:00:${String(s).padStart(2, '0')}.000Z`;
    await sessions.transition(session.sessionId, { to: 'CONNECTING', now: at(1) });
    await sessions.transition(session.sessionId, { to: 'QR_READY', now: at(2), fields: { qr: 'qr-raw-1' } });
    await sessions.transition(session.sessionId, { to: 'CONNECTED', now: at(3), fields: { qr: null } });
    const conversations = new DynamoConversationStore(aws.clients.dynamo, {
      messages: aws.env.MESSAGES_TABLE as string,
      usage: aws.env.USAGE_TABLE as string,
    });
    await conversations.appendMessage({
      message: aMessage({
        tenantId: 'tenant-a',
        sessionId: session.sessionId,
        conversationId: 'conv-1',
        direction: 'in',
        from: '15550001111@s.whatsapp.net',
        text: 'hello there',
        status: 'DELIVERED',
        waMessageId: 'WA-IN-1',
        createdAt: at(4),
      }),
      peer: '15550001111@s.whatsapp.net',
      usage: { messagesIn: 1 },
      now: at(4),
    });

    const messages = new DynamoMessageStore(table('MESSAGES_TABLE'));
    const sent = aMessage({
      tenantId: 'tenant-a',
      sessionId: session.sessionId,
      createdAt: at(5),
      updatedAt: at(5),
    });
    await messages.putIfAbsent(sent);
    await messages.updateStatus(sent.messageId, { status: 'SENT', waMessageId: 'WA-OUT-1', now: at(6) });
    await messages.updateStatus(sent.messageId, { status: 'DELIVERED', now: at(7) });
    await messages.updateStatus(sent.messageId, { status: 'READ', now: at(8) });

    await expect.poll(() => received.length, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(8);
    const bodies = received.map((r) =>
      new Webhook(endpoint.secret).verify(r.body, r.headers as Record<string, string>),
    );
    const statuses = bodies
      .filter((b) => (b as { type: string }).type === 'session.status')
      .map((b) => (b as { data: { status: string; qr?: string } }).data);
    expect(statuses.map((d) => d.status)).toEqual(['DISCONNECTED', 'CONNECTING', 'QR_READY', 'CONNECTED']);
    expect(statuses[2]?.qr).toBe('qr-raw-1');
    expect(bodies).toContainEqual({
      type: 'message.received',
      timestamp: at(4),
      data: expect.objectContaining({
        sessionId: session.sessionId,
        chatbotId: 'bot-1',
        conversationId: 'conv-1',
        waMessageId: 'WA-IN-1',
        text: 'hello there',
      }),
    });
    const outbound = bodies
      .filter((b) => (b as { type: string }).type === 'message.status')
      .map((b) => (b as { data: { status: string; waMessageId?: string; messageId: string } }).data);
    expect(outbound).toEqual([
      { sessionId: session.sessionId, messageId: sent.messageId, waMessageId: 'WA-OUT-1', status: 'SENT' },
      {
        sessionId: session.sessionId,
        messageId: sent.messageId,
        waMessageId: 'WA-OUT-1',
        status: 'DELIVERED',
      },
      { sessionId: session.sessionId, messageId: sent.messageId, waMessageId: 'WA-OUT-1', status: 'READ' },
    ]);
    // Distinct events have distinct ids (a retry would repeat its own).
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(received.length);
    await expect
      .poll(async () =>
        (await listDeliveries(deps, 'tenant-a', endpoint.webhookId, {})).items.map((d) => d.state),
      )
      .toEqual(Array(8).fill('delivered'));
  });

  it("delivers a session's status change before a younger message that the other table's stream handed over first", async () => {
    const table = (key: string) => new DynamoTable(aws.clients.dynamo, aws.env[key] as string);
    const webhooks = table('WEBHOOKS_TABLE');
    const deps: WebhookDeps = {
      endpoints: new DynamoWebhookEndpointStore(webhooks),
      deliveries: new DynamoDeliveryLog(webhooks),
      jobs: new SqsWebhookJobQueue(aws.clients.sqs, aws.env.WEBHOOK_DELIVERY_QUEUE_URL as string),
      resolver: systemAddressResolver,
      clock: systemClock,
      urlOptions: { allowLoopback: true },
    };
    const port = (server.address() as AddressInfo).port;
    const endpoint = await createWebhook(deps, 'tenant-order', { url: `http://127.0.0.1:${port}/order` });
    const sessions = new DynamoSessionStore(table('SESSIONS_TABLE'));
    const session = aSession({ tenantId: 'tenant-order', status: 'DISCONNECTED' });
    await sessions.create(session);
    await expect
      .poll(async () => (await listDeliveries(deps, 'tenant-order', endpoint.webhookId, {})).items.length, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(1);

    // The message, stored 300 ms after the status change, is written, and fanned out, first.
    const t0 = Date.now();
    const conversations = new DynamoConversationStore(aws.clients.dynamo, {
      messages: aws.env.MESSAGES_TABLE as string,
      usage: aws.env.USAGE_TABLE as string,
    });
    const messageAt = new Date(t0 + 300).toISOString();
    await conversations.appendMessage({
      message: aMessage({
        tenantId: 'tenant-order',
        sessionId: session.sessionId,
        conversationId: 'conv-order',
        direction: 'in',
        from: '15550002222@s.whatsapp.net',
        text: 'after the status',
        status: 'DELIVERED',
        waMessageId: 'WA-ORDER-1',
        createdAt: messageAt,
      }),
      peer: '15550002222@s.whatsapp.net',
      usage: { messagesIn: 1 },
      now: messageAt,
    });
    // The fan-out has seen the message (its delivery is listed) before the status change is written.
    await expect
      .poll(async () => (await listDeliveries(deps, 'tenant-order', endpoint.webhookId, {})).items.length, {
        timeout: 4_000,
        interval: 50,
      })
      .toBe(2);
    await sessions.transition(session.sessionId, { to: 'CONNECTING', now: new Date(t0).toISOString() });

    // Only this session's requests: the first test's were signed with its own endpoint's secret.
    const ofSession = () =>
      received
        .filter(
          (r) =>
            (JSON.parse(r.body) as { data: { sessionId?: string } }).data.sessionId === session.sessionId,
        )
        .map((r) => new Webhook(endpoint.secret).verify(r.body, r.headers as Record<string, string>))
        .map((b) => b as { type: string; data: { status?: string } });
    await expect
      .poll(() => ofSession().map((b) => [b.type, b.data.status]), { timeout: 30_000, interval: 200 })
      .toHaveLength(3);
    expect(ofSession().map((b) => [b.type, b.data.status])).toEqual([
      ['session.status', 'DISCONNECTED'],
      ['session.status', 'CONNECTING'],
      ['message.received', undefined],
    ]);
  }, 90_000);
});
