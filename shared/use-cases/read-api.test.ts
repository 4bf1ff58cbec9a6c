import { beforeEach, describe, expect, it } from 'vitest';
import { aChatbot, aSession } from '../testing/builders.ts';
import { type FakeAiDeps, fakeAiDeps } from '../testing/in-memory-ai-stores.ts';
import { processIncoming } from './process-incoming.ts';
import { getUsage, listConversationMessages, listConversations } from './read-api.ts';

let deps: FakeAiDeps;
let sessionId: string;

beforeEach(async () => {
  deps = fakeAiDeps();
  const session = aSession({ status: 'CONNECTED' });
  sessionId = session.sessionId;
  await deps.sessions.create(session);
  await deps.chatbots.createIfMissing(aChatbot());
});

const receive = (chat: string, waMessageId: string) =>
  processIncoming(deps, {
    v: 1,
    type: 'message.received',
    tenantId: 'tenant-a',
    chatbotId: 'bot-1',
    sessionId,
    waMessageId,
    from: chat,
    chat,
    text: `hello ${waMessageId}`,
    timestamp: deps.clock.now().toISOString(),
  });

describe('listConversations', () => {
  it("lists the session's conversations by last activity, and hides another tenant's session", async () => {
    await receive('4915100000002@s.whatsapp.net', 'A');
    deps.clock.advance(1000);
    const second = await receive('4915100000003@s.whatsapp.net', 'B');
    const page = await listConversations(deps, 'tenant-a', { sessionId, limit: 1 });
    expect(page.items).toEqual([
      {
        conversationId: second.conversationId,
        sessionId,
        peer: '4915100000003@s.whatsapp.net',
        lastMessageAt: deps.clock.now().toISOString(),
        lastMessageText: 're: hello B',
        messageCount: 2,
        unreadCount: 0,
      },
    ]);
    const next = await listConversations(deps, 'tenant-a', { sessionId, cursor: page.nextCursor });
    expect(next.items.map((c) => c.peer)).toEqual(['4915100000002@s.whatsapp.net']);
    expect(next.nextCursor).toBeUndefined();
    await expect(listConversations(deps, 'tenant-b', { sessionId })).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
  });
});

describe('listConversationMessages', () => {
  it("lists a conversation's messages oldest first, and hides another tenant's conversation", async () => {
    const { conversationId } = await receive('4915100000002@s.whatsapp.net', 'A');
    const page = await listConversationMessages(deps, 'tenant-a', conversationId, {});
    expect(page.items.map((m) => [m.direction, m.text])).toEqual([
      ['in', 'hello A'],
      ['out', 're: hello A'],
    ]);
    await expect(listConversationMessages(deps, 'tenant-b', conversationId, {})).rejects.toMatchObject({
      code: 'CONVERSATION_NOT_FOUND',
    });
    await expect(listConversationMessages(deps, 'tenant-a', 'nope', {})).rejects.toMatchObject({
      code: 'CONVERSATION_NOT_FOUND',
    });
  });
});

describe('getUsage', () => {
  it('lists every day of the range, zeros where nothing was counted', async () => {
    await deps.usage.add('tenant-a', '2026-01-02', { messagesIn: 3 });
    expect(await getUsage(deps, 'tenant-a', { from: '2026-01-01', to: '2026-01-03' })).toEqual({
      days: [
        { date: '2026-01-01', messagesIn: 0, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
        { date: '2026-01-02', messagesIn: 3, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
        { date: '2026-01-03', messagesIn: 0, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
      ],
    });
    expect(
      (await getUsage(deps, 'tenant-b', { from: '2026-01-02', to: '2026-01-02' })).days[0]?.messagesIn,
    ).toBe(0);
  });

  it('refuses a reversed range and one longer than 366 days', async () => {
    await expect(getUsage(deps, 'tenant-a', { from: '2026-01-02', to: '2026-01-01' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'query.from', message: expect.any(String) }],
    });
    expect((await getUsage(deps, 'tenant-a', { from: '2024-01-01', to: '2024-12-31' })).days).toHaveLength(
      366,
    );
    await expect(getUsage(deps, 'tenant-a', { from: '2025-01-01', to: '2026-01-02' })).rejects.toMatchObject({
      details: [{ path: 'query.to', message: expect.any(String) }],
    });
  });
});
