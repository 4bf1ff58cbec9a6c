import { beforeEach, describe, expect, it } from 'vitest';
import type { MessageReceived } from '../contracts/incoming.ts';
import { deriveId } from '../domain/ids.ts';
import { DependencyUnavailableError, isRetryable } from '../errors.ts';
import { aChatbot, aSession } from '../testing/builders.ts';
import { type FakeAiDeps, fakeAiDeps } from '../testing/in-memory-ai-stores.ts';
import {
  conversationIdOf,
  fitPrompt,
  inboundMessageIdOf,
  MAX_REPLY_CHARS,
  processIncoming,
  replyMessageIdOf,
} from './process-incoming.ts';

const PEER = '4915100000002@s.whatsapp.net';
let deps: FakeAiDeps;
let sessionId: string;
let counter = 0;

beforeEach(async () => {
  deps = fakeAiDeps({ historyMessages: 4 });
  const session = aSession({ status: 'CONNECTED', phoneNumber: '4915100000001', shard: 0 });
  sessionId = session.sessionId;
  await deps.sessions.create(session);
  await deps.chatbots.createIfMissing(aChatbot({ name: 'Ana', systemPrompt: 'You sell bikes.' }));
});

const received = (overrides: Partial<MessageReceived> = {}): MessageReceived => ({
  v: 1,
  type: 'message.received',
  tenantId: 'tenant-a',
  chatbotId: 'bot-1',
  sessionId,
  waMessageId: `WA${++counter}`,
  from: PEER,
  chat: PEER,
  pushName: 'Bob',
  text: 'Do you have red bikes?',
  timestamp: '2026-01-01T11:59:00.000Z',
  ...overrides,
});

const usageOfDay = async () => (await deps.usage.listDays('tenant-a', '2026-01-01', '2026-01-01'))[0];

describe('processIncoming', () => {
  it('stores the message in its conversation, counts it, and queues the reply under ids derived from it', async () => {
    const event = received();
    const result = await processIncoming(deps, event);

    const inboundId = deriveId('in', sessionId, event.waMessageId);
    const replyId = deriveId('reply', inboundId);
    const conversationId = deriveId('conv', sessionId, PEER);
    expect(result).toEqual({
      conversationId,
      messageId: inboundId,
      newlyStored: true,
      reply: { messageId: replyId, outcome: 'queued' },
    });
    expect(await deps.messages.get(inboundId)).toMatchObject({
      direction: 'in',
      from: PEER,
      pushName: 'Bob',
      to: '4915100000001@s.whatsapp.net',
      waMessageId: event.waMessageId,
      conversationId,
      createdAt: '2026-01-01T11:59:00.000Z',
    });
    expect(await deps.messages.get(replyId)).toMatchObject({
      direction: 'out',
      to: PEER,
      status: 'QUEUED',
      text: 're: Do you have red bikes?',
      conversationId,
    });
    expect(await deps.conversations.get(conversationId)).toMatchObject({
      peer: PEER,
      peerName: 'Bob',
      messageCount: 2,
      unreadCount: 0,
      lastDirection: 'out',
    });
    expect(deps.commands.published).toEqual([
      {
        shard: 0,
        command: {
          v: 1,
          type: 'send',
          sessionId,
          commandId: replyId,
          messageId: replyId,
          to: PEER,
          text: 're: Do you have red bikes?',
          // Manners are on by default: the runner marks this message read and shows "typing…".
          manners: { readWaMessageId: event.waMessageId, chat: PEER },
        },
      },
    ]);
    expect(await usageOfDay()).toEqual({
      date: '2026-01-01',
      messagesIn: 1,
      messagesOut: 1,
      aiInputTokens: 100,
      aiOutputTokens: 20,
    });
  });

  it('queues the reply without conversation manners when the chatbot turned them off', async () => {
    await deps.chatbots.upsert(aChatbot(), { conversationManners: false }, '2026-01-01T12:00:00.000Z');
    await processIncoming(deps, received());
    expect(deps.commands.published).toHaveLength(1);
    expect(deps.commands.published[0]?.command).not.toHaveProperty('manners');
  });

  it('stores, counts and answers a redelivered message once, asking the model once', async () => {
    const event = received();
    await processIncoming(deps, event);
    const again = await processIncoming(deps, event);

    expect(again.newlyStored).toBe(false);
    expect(deps.chatModel.requests).toHaveLength(1);
    expect(deps.messages.items.size).toBe(2);
    expect((await deps.conversations.get(again.conversationId))?.messageCount).toBe(2);
    expect(await usageOfDay()).toMatchObject({ messagesIn: 1, messagesOut: 1, aiOutputTokens: 20 });
    // Enqueued again under the same commandId, which SQS FIFO deduplicates.
    const ids = deps.commands.published.map((p) => p.command.commandId);
    expect(new Set(ids)).toEqual(new Set([replyMessageIdOf(again.messageId)]));
  });

  it('throws a retryable error and stores no reply when the model fails, then answers on the retry', async () => {
    const event = received();
    deps.chatModel.failNext = new DependencyUnavailableError('ai:bedrock');
    const failure = await processIncoming(deps, event).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(isRetryable(failure)).toBe(true);
    const replyId = replyMessageIdOf(inboundMessageIdOf(sessionId, event.waMessageId));
    expect(await deps.messages.get(replyId)).toBeUndefined();
    expect(deps.commands.published).toEqual([]);
    expect(await usageOfDay()).toMatchObject({ messagesIn: 1, messagesOut: 0, aiInputTokens: 0 });

    const retried = await processIncoming(deps, event);
    expect(retried.reply).toEqual({ messageId: replyId, outcome: 'queued' });
    expect(deps.chatModel.requests).toHaveLength(2);
    expect(await usageOfDay()).toMatchObject({ messagesIn: 1, messagesOut: 1, aiInputTokens: 100 });
  });

  it('enqueues a stored reply whose enqueue failed without asking the model again', async () => {
    const event = received();
    deps.commands.failNext = new DependencyUnavailableError('sqs');
    await expect(processIncoming(deps, event)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(deps.commands.published).toEqual([]);

    const retried = await processIncoming(deps, event);
    expect(retried.reply?.outcome).toBe('requeued');
    expect(deps.chatModel.requests).toHaveLength(1);
    expect(deps.commands.published).toHaveLength(1);
    expect(await usageOfDay()).toMatchObject({ messagesOut: 1, aiOutputTokens: 20 });
  });

  it('does not enqueue a reply the runner has sent already', async () => {
    const event = received();
    const first = await processIncoming(deps, event);
    const replyId = first.reply?.messageId as string;
    await deps.messages.updateStatus(replyId, { status: 'SENT', now: '2026-01-01T12:00:01.000Z' });
    deps.commands.published.length = 0;
    expect((await processIncoming(deps, event)).reply).toEqual({ messageId: replyId, outcome: 'done' });
    expect(deps.commands.published).toEqual([]);
  });

  it.each([
    ['ai-disabled', async () => void (await deps.chatbots.upsert(aChatbot(), { aiEnabled: false }, 'x'))],
    ['chatbot-unknown', async () => void deps.chatbots.items.clear()],
    ['session-stopped', async () => void (await deps.sessions.setDesiredState(sessionId, 'stopped', 'x'))],
    ['session-unknown', async () => void deps.sessions.items.clear()],
    // A model set before the stage's allow-list (or written by hand) never reaches a provider.
    [
      'model-not-allowed',
      async () => void (await deps.chatbots.upsert(aChatbot(), { model: 'openai:gpt-5' }, 'x')),
    ],
  ])('stores and counts the message but does not answer: %s', async (reason, arrange) => {
    await arrange();
    const result = await processIncoming(deps, received());
    expect(result).toMatchObject({ newlyStored: true, noReply: reason });
    expect(result.reply).toBeUndefined();
    expect(deps.chatModel.requests).toEqual([]);
    expect(deps.commands.published).toEqual([]);
    expect(deps.messages.items.size).toBe(1);
    expect(await usageOfDay()).toMatchObject({ messagesIn: 1, messagesOut: 0 });
  });

  it("refuses a message naming another tenant than its session's, storing nothing", async () => {
    await expect(processIncoming(deps, received({ tenantId: 'tenant-b' }))).rejects.toMatchObject({
      kind: 'invalid',
      code: 'TENANT_MISMATCH',
    });
    expect(deps.messages.items.size).toBe(0);
  });

  it('prompts with the system prompt and the last messages in time order, inbound as user', async () => {
    for (const text of ['one', 'two', 'three']) {
      deps.clock.advance(60_000);
      await processIncoming(deps, received({ text, timestamp: deps.clock.now().toISOString() }));
    }
    const last = deps.chatModel.requests.at(-1);
    // historyMessages = 4: the message answered and the three before it ('re: one' first, which an
    // assistant turn cannot be, so it is left out).
    expect(last).toEqual({
      system: 'You sell bikes.',
      messages: [
        { role: 'user', text: 'two' },
        { role: 'assistant', text: 're: two' },
        { role: 'user', text: 'three' },
      ],
      maxTokens: 512,
      timeoutMs: 1000,
      assistantName: 'Ana',
    });
  });

  it('names the chatbot model and falls back to the default system prompt', async () => {
    deps.allowedModels = ['offline', 'openai:gpt-4o-mini'];
    await deps.chatbots.upsert(aChatbot(), { systemPrompt: '  ', model: 'openai:gpt-4o-mini' }, 'x');
    await processIncoming(deps, received());
    expect(deps.chatModel.requests[0]).toMatchObject({
      model: 'openai:gpt-4o-mini',
      system: expect.stringContaining('WhatsApp'),
    });
  });

  it('answers at most the AI replies of the day: beyond, stores and counts the message without asking the model', async () => {
    deps = fakeAiDeps({}, { aiRepliesPerDay: 2 });
    const session = aSession({ sessionId, status: 'CONNECTED', phoneNumber: '4915100000001', shard: 0 });
    await deps.sessions.create(session);
    await deps.chatbots.createIfMissing(aChatbot());
    expect((await processIncoming(deps, received())).reply?.outcome).toBe('queued');
    expect((await processIncoming(deps, received())).reply?.outcome).toBe('queued');
    const third = await processIncoming(deps, received({ text: 'third' }));
    expect(third).toMatchObject({ newlyStored: true, noReply: 'ai-reply-limit' });
    expect(deps.chatModel.requests).toHaveLength(2);
    expect(await deps.messages.get(third.messageId)).toMatchObject({ text: 'third', direction: 'in' });
    expect(await usageOfDay()).toMatchObject({ messagesIn: 3, messagesOut: 2 });
    // The next UTC day answers again.
    deps.clock.advance(12 * 3600 * 1000);
    expect((await processIncoming(deps, received())).reply?.outcome).toBe('queued');
  });

  it("gives the day's place back when the model fails or answers nothing", async () => {
    deps = fakeAiDeps({}, { aiRepliesPerDay: 1 });
    await deps.sessions.create(aSession({ sessionId, status: 'CONNECTED', shard: 0 }));
    await deps.chatbots.createIfMissing(aChatbot());
    deps.chatModel.failNext = new DependencyUnavailableError('bedrock');
    await expect(processIncoming(deps, received())).rejects.toBeInstanceOf(DependencyUnavailableError);
    deps.chatModel.reply = () => ' ';
    expect((await processIncoming(deps, received())).noReply).toBe('empty-reply');
    deps.chatModel.reply = () => 'back';
    expect((await processIncoming(deps, received())).reply?.outcome).toBe('queued');
  });

  it('cuts a long reply to the WhatsApp limit and stores nothing for an empty one', async () => {
    deps.chatModel.reply = () => 'x'.repeat(MAX_REPLY_CHARS + 10);
    const long = await processIncoming(deps, received());
    expect((await deps.messages.get(long.reply?.messageId as string))?.text).toHaveLength(MAX_REPLY_CHARS);
    deps.chatModel.reply = () => '  ';
    const empty = await processIncoming(deps, received());
    expect(empty).toMatchObject({ noReply: 'empty-reply' });
    expect(await deps.messages.get(replyMessageIdOf(empty.messageId))).toBeUndefined();
  });

  it('keeps a group conversation under the group, without the sender name', async () => {
    const group = '120363000000000001@g.us';
    const result = await processIncoming(deps, received({ chat: group }));
    expect(result.conversationId).toBe(conversationIdOf(sessionId, group));
    const conversation = await deps.conversations.get(result.conversationId);
    expect(conversation?.peer).toBe(group);
    expect(conversation?.peerName).toBeUndefined();
    // The sender's name stays on the message, where `message.received` reads it.
    expect(await deps.messages.get(result.messageId)).toMatchObject({ pushName: 'Bob' });
    expect(deps.commands.published[0]?.command).toMatchObject({ to: group });
  });
});

describe('fitPrompt', () => {
  const m = (direction: 'in' | 'out', text: string) => ({ direction, text });

  it('joins consecutive messages of one side and starts and ends with the user', () => {
    expect(
      fitPrompt('s', [m('out', 'hi'), m('in', 'a'), m('in', 'b'), m('out', 'c'), m('in', 'd')], 10_000),
    ).toEqual([
      { role: 'user', text: 'a\nb' },
      { role: 'assistant', text: 'c' },
      { role: 'user', text: 'd' },
    ]);
  });

  it('drops the oldest messages beyond the size limit and cuts an oversized last one', () => {
    const system = 's'.repeat(100);
    const turns = [m('in', 'a'.repeat(600)), m('out', 'b'.repeat(300)), m('in', 'c'.repeat(600))];
    expect(fitPrompt(system, turns, 1100).map((t) => t.text.length)).toEqual([600]);
    expect(fitPrompt(system, turns, 1600).map((t) => t.text.length)).toEqual([600, 300, 600]);
    expect(fitPrompt('', [m('in', 'x'.repeat(5000))], 2000)[0]?.text).toHaveLength(2000);
  });
});
