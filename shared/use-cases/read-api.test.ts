import { beforeEach, describe, expect, it } from 'vitest';
import { ConversationMessagesResponse } from '../contracts/read-api.ts';
import { aChatbot, aMessage, aSession } from '../testing/builders.ts';
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
  it('shows why a send failed (its error) on a FAILED message, within the response contract', async () => {
    const { conversationId } = await receive('4915100000002@s.whatsapp.net', 'A');
    const failed = aMessage({
      sessionId,
      conversationId,
      to: '4915100000002@s.whatsapp.net',
      text: '[video]',
      media: {
        mediaId: '2b1f7c7e-6a43-4c5e-9d0c-3c1d2b7a9e10',
        mimeType: 'video/mp4',
        size: 17_000_000,
        sha256: '',
      },
      status: 'FAILED',
      error: 'MEDIA_TOO_LARGE',
      createdAt: deps.clock.now().toISOString(),
    });
    await deps.messages.putIfAbsent(failed);
    const page = await listConversationMessages(deps, 'tenant-a', conversationId, {});
    const shown = page.items.find((m) => m.messageId === failed.messageId);
    expect(shown).toMatchObject({ status: 'FAILED', error: 'MEDIA_TOO_LARGE' });
    // A message that did not fail carries no error field at all.
    expect(page.items.filter((m) => m.messageId !== failed.messageId).every((m) => !('error' in m))).toBe(
      true,
    );
    expect(
      ConversationMessagesResponse.parse(page).items.find((m) => m.messageId === failed.messageId)?.error,
    ).toBe('MEDIA_TOO_LARGE');
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
