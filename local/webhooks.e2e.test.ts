import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './testing/e2e-stack.ts';
import { type SharedE2eStack, sharedE2eStack } from './testing/shared-e2e-stack.ts';

// Events to tenants as a tenant sees them: `npm start` with the simulator, a webhook registered on a
// loopback receiver through the HTTP API, and every request the receiver gets checked with the
// Standard Webhooks library and the secret the API showed once. On the run's shared stack (its
// webhook retries start after 1 s), as a tenant of its own.

const PHONE = '4915100000888';
const CONTACT = '4915188888888';
let stack: SharedE2eStack;
let api: string;
let sim: string;
let key: string;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}
const received: Received[] = [];
let receiver: Server;
let receiverUrl: string;
/** Answers of the flaky path, in order; 204 once they run out. */
const flakyAnswers = [500, 500, 500];

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON
const json = async (path: string, init: RequestInit = {}): Promise<any> => {
  const res = await fetch(`${api}/whatsapp-qr${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  return { ...(text ? (JSON.parse(text) as object) : {}), code: res.status };
};
const simPost = (path: string, body: unknown) =>
  fetch(`${sim}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The events that reached `path` and carry a valid signature for `secret`, in arrival order. */
const verifiedEvents = (path: string, secret: string) => {
  const wh = new Webhook(secret);
  return received
    .filter((r) => r.path === path)
    .map((r) => ({
      id: r.headers['webhook-id'] as string,
      // biome-ignore lint/suspicious/noExplicitAny: the event body
      event: wh.verify(r.body, r.headers as Record<string, string>) as any,
      status: r.status,
    }));
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const status = req.url === '/flaky' ? (flakyAnswers.shift() ?? 204) : 204;
      received.push({ path: req.url ?? '', headers: req.headers, body, status });
      res.writeHead(status).end(status === 500 ? 'receiver down' : undefined);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  stack = await sharedE2eStack('webhooks-e2e');
  ({ api, sim, key } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.release();
  await new Promise((r) => receiver?.close(r));
}, 60_000);

describe('webhooks on the local stack with the simulator', () => {
  it('delivers signed session.status (QR, then CONNECTED), message.received and message.status up to READ', async () => {
    const created = await json('/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: `${receiverUrl}/events`, description: 'e2e receiver' }),
    });
    expect(created.code).toBe(201);
    const secret = created.secret as string;
    const events = () => verifiedEvents('/events', secret);

    const init = await json('/init', { method: 'POST', body: JSON.stringify({ chatbotId: 'hooks' }) });
    expect(init.code).toBe(201);
    const { sessionId } = init;
    // The QR comes in the event: the tenant's page needs no polling to show it.
    const qrEvent = await waitFor('session.status QR_READY', () =>
      events().find((e) => e.event.type === 'session.status' && e.event.data.status === 'QR_READY'),
    );
    expect(qrEvent.event.data).toMatchObject({ sessionId, chatbotId: 'hooks', qr: expect.any(String) });
    expect((await simPost(`/phones/${PHONE}/scan`, { qr: qrEvent.event.data.qr })).status).toBe(200);
    const connected = await waitFor('session.status CONNECTED', () =>
      events().find((e) => e.event.type === 'session.status' && e.event.data.status === 'CONNECTED'),
    );
    // After the scan WhatsApp asks for a restart (515): QR_READY → CONNECTING → CONNECTED.
    expect(connected.event.data).toMatchObject({
      sessionId,
      chatbotId: 'hooks',
      previousStatus: 'CONNECTING',
    });
    expect(connected.event.data.qr).toBeUndefined();

    expect(
      (await simPost(`/contacts/${CONTACT}/send`, { to: PHONE, text: 'Is my order on its way?' })).status,
    ).toBe(200);
    const incoming = await waitFor('message.received', () =>
      events().find((e) => e.event.type === 'message.received'),
    );
    expect(incoming.event.data).toMatchObject({
      sessionId,
      chatbotId: 'hooks',
      text: 'Is my order on its way?',
      from: expect.stringContaining(CONTACT),
      pushName: `Contact ${CONTACT}`, // the contact's display name, as the simulator's contacts send it
    });

    const sent = await json('/send', {
      method: 'POST',
      body: JSON.stringify({ sessionId, to: CONTACT, message: 'Yes, it left today.' }),
    });
    expect(sent.code).toBe(202);
    const statusesOf = () =>
      events()
        .filter((e) => e.event.type === 'message.status' && e.event.data.messageId === sent.messageId)
        .map((e) => e.event.data.status);
    await waitFor('message.status DELIVERED', () => statusesOf().includes('DELIVERED'));
    expect((await simPost(`/contacts/${CONTACT}/read`, { from: PHONE })).status).toBe(200);
    await waitFor('message.status READ', () => statusesOf().includes('READ'));
    expect(statusesOf()).toEqual(['SENT', 'DELIVERED', 'READ']);

    // In order per session, each event once (distinct webhook-id), every one signed.
    const sessionStatuses = events()
      .filter((e) => e.event.type === 'session.status')
      .map((e) => e.event.data.status);
    expect(sessionStatuses.indexOf('QR_READY')).toBeLessThan(sessionStatuses.indexOf('CONNECTED'));
    const ids = events().map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(received.filter((r) => r.path === '/events')).toHaveLength(ids.length);
  }, 60_000);

  it('retries a receiver that answers 500 three times: the fourth attempt, same webhook-id, is delivered and listed', async () => {
    const created = await json('/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: `${receiverUrl}/flaky`, events: ['webhook.test'] }),
    });
    expect(created.code).toBe(201);
    const test = await json(`/webhooks/${created.webhookId}/test`, { method: 'POST' });
    expect(test.code).toBe(202);

    const attempts = await waitFor('the fourth attempt', () => {
      const all = verifiedEvents('/flaky', created.secret);
      return all.length >= 4 && all;
    });
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 204]);
    expect(new Set(attempts.map((a) => a.id))).toEqual(new Set([test.eventId]));
    expect(attempts[3]?.event).toMatchObject({
      type: 'webhook.test',
      data: { webhookId: created.webhookId },
    });

    const deliveries = await waitFor('the delivery listed as delivered', async () => {
      const page = await json(`/webhooks/${created.webhookId}/deliveries`);
      return page.items?.[0]?.state === 'delivered' && page;
    });
    expect(deliveries.items).toEqual([
      expect.objectContaining({
        eventId: test.eventId,
        type: 'webhook.test',
        state: 'delivered',
        attempts: 4,
        lastStatus: 204,
      }),
    ]);
  }, 40_000);
});
