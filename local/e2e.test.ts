import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2eStack, startE2eStack, waitFor } from './testing/e2e-stack.ts';

// The product as a tenant uses it: `npm start` with WHATSAPP=simulator, everything through HTTP.

let stack: E2eStack;
let api: string;
let sim: string;
let key: string;
const PHONE = '4915100000777';
const CONTACT = '4915177777777';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON
const json = async (path: string, init: RequestInit = {}): Promise<any> => {
  const res = await fetch(`${api}/whatsapp-qr${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
  });
  return { ...((await res.json()) as object), code: res.status };
};
const simPost = (path: string, body: unknown) =>
  fetch(`${sim}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  stack = await startE2eStack({ name: 'e2e' });
  ({ api, sim, key } = stack);
}, 120_000);

afterAll(() => stack?.stop(), 60_000);

describe('end to end on the local stack with the simulator', () => {
  it('links by QR, sends, and answers an incoming message with the offline AI, visible in the read API', async () => {
    const init = await json('/init', { method: 'POST', body: JSON.stringify({ chatbotId: 'shop' }) });
    expect(init.code).toBe(201);
    // The chatbot init creates answers nothing until the tenant turns AI on.
    expect((await json('/session/shop')).chatbot.aiEnabled).toBe(false);
    const enabled = await json('/chatbots/shop', {
      method: 'PUT',
      body: JSON.stringify({ aiEnabled: true }),
    });
    expect([enabled.code, enabled.aiEnabled]).toEqual([200, true]);
    const qr = await waitFor('the QR', async () => {
      const res = await json(`/qr-code/${init.sessionId}`);
      return res.code === 200 ? (res.qr as string) : undefined;
    });
    await waitFor('the QR in the terminal', async () =>
      stack.output().includes(`Scan with WhatsApp (session ${init.sessionId})`),
    );
    expect((await simPost(`/phones/${PHONE}/scan`, { qr })).status).toBe(200);
    await waitFor('CONNECTED', async () => (await json(`/status/${init.sessionId}`)).status === 'CONNECTED');

    const sent = await json('/send', {
      method: 'POST',
      body: JSON.stringify({ sessionId: init.sessionId, to: CONTACT, message: 'Welcome!' }),
    });
    expect(sent.code).toBe(202);
    const inbox = async () =>
      (await (await fetch(`${sim}/contacts/${CONTACT}/inbox`)).json()) as { text: string }[];
    await waitFor('the text at the contact', async () => (await inbox()).some((m) => m.text === 'Welcome!'));

    expect(
      (await simPost(`/contacts/${CONTACT}/send`, { to: PHONE, text: 'Do you ship to Berlin?' })).status,
    ).toBe(200);
    const reply = await waitFor('the AI reply at the contact', async () =>
      (await inbox()).find((m) => m.text.includes('Echo: Do you ship to Berlin?')),
    );
    expect(reply.text).toBe('shop: Echo: Do you ship to Berlin?');
    // Conversation manners: the answered message shows as read at the contact.
    await waitFor('the read receipt for the answered message', async () => {
      const mine = (await (await fetch(`${sim}/contacts/${CONTACT}/sent`)).json()) as {
        text: string;
        readAt?: number;
      }[];
      return mine.some((m) => m.text === 'Do you ship to Berlin?' && m.readAt !== undefined);
    });

    const conversations = await json(`/conversations?sessionId=${init.sessionId}`);
    expect(conversations.items).toHaveLength(1);
    const messages = await json(
      `/conversations/${encodeURIComponent(conversations.items[0].conversationId)}/messages`,
    );
    // The API send joined the same conversation; within one second the order of the inbound (stamped
    // with WhatsApp's whole-second time) and the send is not defined, so compare as a set.
    expect(
      messages.items.map((m: { direction: string; text: string }) => `${m.direction} ${m.text}`).sort(),
    ).toEqual(['in Do you ship to Berlin?', 'out Welcome!', 'out shop: Echo: Do you ship to Berlin?']);
    const today = new Date().toISOString().slice(0, 10);
    const usage = await json(`/usage?from=${today}&to=${today}`);
    expect(usage.days[0]).toMatchObject({ date: today, messagesIn: 1, messagesOut: 2 });
  }, 180_000);

  it('restarts a runner that died, as ECS would, and the session comes back', async () => {
    const before = stack.pids();
    process.kill(before.runner, 'SIGKILL');
    const after = await waitFor('a new runner', async () => {
      const pids = stack.pids();
      return pids.runner && pids.runner !== before.runner ? pids : undefined;
    });
    expect(after.runner).not.toBe(before.runner);
    const session = await json('/session/shop');
    await waitFor('CONNECTED again', async () => {
      const s = await json(`/status/${session.sessionId}`);
      return s.status === 'CONNECTED' && s.connectedAt > session.connectedAt;
    });
    // The new runner may need a moment before its own health check answers (it loads under tsx).
    await waitFor('healthy', async () => (await fetch(`${api}/healthz`)).status === 200);
  }, 120_000);
});

describe('read receipts with the simulator', () => {
  it('marks a sent message READ once the contact reads what the linked number sent', async () => {
    const session = await json('/session/shop');
    const conversations = await json(`/conversations?sessionId=${session.sessionId}`);
    const messages = await json(
      `/conversations/${encodeURIComponent(conversations.items[0].conversationId)}/messages`,
    );
    const welcome = messages.items.find((m: { text: string }) => m.text === 'Welcome!');
    await waitFor(
      'DELIVERED',
      async () => (await json(`/messages/${welcome.messageId}`)).status === 'DELIVERED',
    );
    expect((await simPost(`/contacts/${CONTACT}/read`, { from: PHONE })).status).toBe(200);
    await waitFor('READ', async () => (await json(`/messages/${welcome.messageId}`)).status === 'READ');
  }, 60_000);
});

describe('health of the local stack', () => {
  // Last: it breaks the stack on purpose.
  it('answers 503 naming dynamodb when DynamoDB Local is gone', async () => {
    const { dynamodb } = stack.pids();
    process.kill(dynamodb, 'SIGKILL');
    const health = await waitFor('a 503', async () => {
      const res = await fetch(`${api}/healthz`);
      return res.status === 503 && ((await res.json()) as { down: string[]; parts: Record<string, string> });
    });
    expect(health.down).toEqual(['dynamodb']);
    expect(health.parts.dynamodb).toMatch(/^down: /);
    expect(health.parts.sqs).toBe('ok');
  }, 60_000);
});
