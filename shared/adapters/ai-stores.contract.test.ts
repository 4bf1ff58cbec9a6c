import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';
import type { ConversationStore } from '../ports/conversation-store.ts';
import type { MessageStore } from '../ports/message-store.ts';
import type { UsageStore } from '../ports/usage-store.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { aMessage } from '../testing/builders.ts';
import { InMemoryConversationStore, InMemoryUsageStore } from '../testing/in-memory-ai-stores.ts';
import { InMemoryMessageStore } from '../testing/in-memory-stores.ts';
import { DynamoConversationStore } from './dynamodb-conversation-store.ts';
import { DynamoMessageStore } from './dynamodb-message-store.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { DynamoUsageStore } from './dynamodb-usage-store.ts';

interface Stores {
  conversations: ConversationStore;
  messages: MessageStore;
  usage: UsageStore;
}

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

const dynamoStores = (): Stores => {
  const tables = { messages: aws.env.MESSAGES_TABLE as string, usage: aws.env.USAGE_TABLE as string };
  return {
    conversations: new DynamoConversationStore(aws.clients.dynamo, tables),
    messages: new DynamoMessageStore(new DynamoTable(aws.clients.dynamo, tables.messages)),
    usage: new DynamoUsageStore(new DynamoTable(aws.clients.dynamo, tables.usage)),
  };
};
const memoryStores = (): Stores => {
  const messages = new InMemoryMessageStore();
  const usage = new InMemoryUsageStore();
  return { conversations: new InMemoryConversationStore(messages, usage), messages, usage };
};

const T = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

describe.each([
  ['in-memory fakes', memoryStores],
  ['DynamoDB adapters on DynamoDB Local', dynamoStores],
])('AI store contract: %s', (_name, make) => {
  let s: Stores;
  beforeAll(() => {
    s = make();
  });

  const inbound = (conversationId: string, sessionId: string, tenantId: string, minute: number): Message =>
    aMessage({
      tenantId,
      sessionId,
      conversationId,
      direction: 'in',
      from: '4915100000002@s.whatsapp.net',
      status: 'DELIVERED',
      text: `in ${minute}`,
      createdAt: T(minute),
      updatedAt: T(minute),
    });

  describe('conversations', () => {
    it('stores a message, its conversation and its usage once, however often it is appended', async () => {
      const tenantId = `t-${newId()}`;
      const sessionId = newId();
      const conversationId = newId();
      const message = inbound(conversationId, sessionId, tenantId, 1);
      const entry = {
        message,
        peer: '4915100000002@s.whatsapp.net',
        peerName: 'Alice',
        usage: { messagesIn: 1 },
        now: T(2),
      };
      expect(await s.conversations.appendMessage(entry)).toBe(true);
      expect(await s.conversations.appendMessage({ ...entry, now: T(3) })).toBe(false);

      expect(await s.messages.get(message.messageId)).toEqual(message);
      expect(await s.conversations.get(conversationId)).toEqual({
        conversationId,
        tenantId,
        sessionId,
        peer: '4915100000002@s.whatsapp.net',
        peerName: 'Alice',
        lastMessageAt: T(2),
        lastMessageText: 'in 1',
        lastDirection: 'in',
        messageCount: 1,
        unreadCount: 1,
        createdAt: T(2),
        updatedAt: T(2),
      });
      expect(await s.usage.listDays(tenantId, '2026-03-01', '2026-03-01')).toEqual([
        { date: '2026-03-01', messagesIn: 1, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
      ]);
    });

    it('counts messages and unread inbound ones, which an outbound message clears', async () => {
      const tenantId = `t-${newId()}`;
      const sessionId = newId();
      const conversationId = newId();
      const peer = '4915100000002@s.whatsapp.net';
      for (const minute of [1, 2]) {
        await s.conversations.appendMessage({
          message: inbound(conversationId, sessionId, tenantId, minute),
          peer,
          usage: { messagesIn: 1 },
          now: T(minute),
        });
      }
      expect(await s.conversations.get(conversationId)).toMatchObject({ messageCount: 2, unreadCount: 2 });
      const reply = aMessage({
        tenantId,
        sessionId,
        conversationId,
        to: peer,
        text: 'answer',
        createdAt: T(3),
      });
      await s.conversations.appendMessage({
        message: reply,
        peer,
        usage: { messagesOut: 1, aiInputTokens: 30, aiOutputTokens: 7 },
        now: T(3),
      });
      expect(await s.conversations.get(conversationId)).toMatchObject({
        messageCount: 3,
        unreadCount: 0,
        lastDirection: 'out',
        lastMessageText: 'answer',
        lastMessageAt: T(3),
      });
      expect(await s.usage.listDays(tenantId, '2026-03-01', '2026-03-01')).toEqual([
        { date: '2026-03-01', messagesIn: 2, messagesOut: 1, aiInputTokens: 30, aiOutputTokens: 7 },
      ]);
      const listed = await s.messages.listByConversation(conversationId, { limit: 10 });
      expect(listed.items.map((m) => m.text)).toEqual(['in 1', 'in 2', 'answer']);
    });

    it('lists the conversations of a session by last activity, in pages, and refuses a forged cursor', async () => {
      const tenantId = `t-${newId()}`;
      const sessionId = newId();
      const ids = [newId(), newId(), newId()];
      const append = (conversationId: string, minute: number) =>
        s.conversations.appendMessage({
          message: inbound(conversationId, sessionId, tenantId, minute),
          peer: `49151000000${minute}@s.whatsapp.net`,
          usage: {},
          now: T(minute),
        });
      await append(ids[0] as string, 1);
      await append(ids[1] as string, 2);
      await append(ids[2] as string, 3);
      await append(ids[0] as string, 4); // the first conversation becomes the most recent
      await s.conversations.appendMessage({
        message: inbound(newId(), newId(), tenantId, 5),
        peer: 'other-session',
        usage: {},
        now: T(5),
      });

      const first = await s.conversations.listBySession(sessionId, { limit: 2 });
      expect(first.items.map((c) => c.conversationId)).toEqual([ids[0], ids[2]]);
      expect(first.items[0]).toMatchObject({ messageCount: 2, lastMessageAt: T(4) });
      const second = await s.conversations.listBySession(sessionId, { limit: 2, cursor: first.nextCursor });
      expect(second.items.map((c) => c.conversationId)).toEqual([ids[1]]);
      expect(second.nextCursor).toBeUndefined();

      const otherSession = newId();
      await s.conversations.appendMessage({
        message: inbound(newId(), otherSession, tenantId, 6),
        peer: 'p',
        usage: {},
        now: T(6),
      });
      await s.conversations.appendMessage({
        message: inbound(newId(), otherSession, tenantId, 7),
        peer: 'p',
        usage: {},
        now: T(7),
      });
      const foreign = (await s.conversations.listBySession(otherSession, { limit: 1 })).nextCursor;
      expect(foreign).toEqual(expect.any(String));
      // This session's partition with a sort key over DynamoDB's 1024 bytes: once a 500.
      const oversized = Buffer.from(
        JSON.stringify({
          pk: `CONVERSATION#${newId()}`,
          gsi1pk: `SESSIONCONVS#${sessionId}`,
          gsi1sk: `${T(1)}#${'a'.repeat(1100)}`,
        }),
      ).toString('base64url');
      for (const cursor of [foreign, 'garbage!', Buffer.from('[]').toString('base64url'), oversized]) {
        await expect(s.conversations.listBySession(sessionId, { limit: 2, cursor })).rejects.toMatchObject({
          code: 'INVALID_CURSOR',
        });
      }
      expect(await s.conversations.listBySession(newId(), { limit: 2 })).toEqual({ items: [] });
    });
    it("counts an API send against its tenant's send rate in the same write: over it nothing is stored or counted", async () => {
      const tenantId = `t-${newId()}`;
      const sessionId = newId();
      const conversationId = newId();
      const send = (minute: number, second: number, messageId = newId(), tenant = tenantId) => {
        const at = new Date(Date.parse(T(minute)) + second * 1000);
        return s.conversations.appendMessage({
          message: aMessage({
            messageId,
            tenantId: tenant,
            sessionId,
            conversationId,
            createdAt: at.toISOString(),
          }),
          peer: '4915100000002@s.whatsapp.net',
          usage: { messagesOut: 1 },
          now: at.toISOString(),
          limit: { limit: 2, windowSeconds: 60, at },
        });
      };
      const first = newId();
      expect(await send(1, 0, first)).toBe(true);
      expect(await send(1, 5)).toBe(true);
      // A redelivered message is neither counted nor refused.
      expect(await send(1, 6, first)).toBe(false);
      const over = newId();
      await expect(send(1, 10, over)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 50 });
      expect(await s.messages.get(over)).toBeUndefined();
      expect(await s.conversations.get(conversationId)).toMatchObject({ messageCount: 2 });
      expect((await s.usage.listDays(tenantId, '2026-03-01', '2026-03-01'))[0]).toMatchObject({
        messagesOut: 2,
      });
      // Per tenant; and a message without a limit (an AI reply) is never refused.
      expect(await send(1, 11, newId(), `t-${newId()}`)).toBe(true);
      expect(
        await s.conversations.appendMessage({
          message: aMessage({ tenantId, sessionId, conversationId, createdAt: T(1) }),
          peer: '4915100000002@s.whatsapp.net',
          usage: { messagesOut: 1 },
          now: T(1),
        }),
      ).toBe(true);
      // The next window starts again at one.
      expect(await send(2, 0, over)).toBe(true);
      expect(await send(2, 30)).toBe(true);
      await expect(send(2, 59)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
      expect((await s.usage.listDays(tenantId, '2026-03-01', '2026-03-01'))[0]).toMatchObject({
        messagesOut: 5,
      });
    });
  });

  describe('usage', () => {
    it('adds atomically per tenant and day and lists a date range inclusively', async () => {
      const tenantId = `t-${newId()}`;
      await Promise.all([
        s.usage.add(tenantId, '2026-02-28', { messagesIn: 1 }),
        s.usage.add(tenantId, '2026-02-28', { messagesIn: 1, aiInputTokens: 10 }),
        s.usage.add(tenantId, '2026-03-01', { messagesOut: 2, aiOutputTokens: 5 }),
        s.usage.add(tenantId, '2026-03-02', { messagesIn: 4 }),
        s.usage.add(`${tenantId}-other`, '2026-03-01', { messagesIn: 9 }),
      ]);
      expect(await s.usage.listDays(tenantId, '2026-02-28', '2026-03-01')).toEqual([
        { date: '2026-02-28', messagesIn: 2, messagesOut: 0, aiInputTokens: 10, aiOutputTokens: 0 },
        { date: '2026-03-01', messagesIn: 0, messagesOut: 2, aiInputTokens: 0, aiOutputTokens: 5 },
      ]);
      expect(await s.usage.listDays(tenantId, '2026-04-01', '2026-04-30')).toEqual([]);
    });
  });
});
