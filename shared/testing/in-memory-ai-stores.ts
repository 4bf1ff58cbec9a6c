import { RateLimitedError } from '../errors.ts';
import type { ChatCompletion, ChatModel, ChatRequest } from '../ports/chat-model.ts';
import {
  type AppendedMessage,
  type Conversation,
  type ConversationStore,
  LAST_MESSAGE_PREVIEW_CHARS,
} from '../ports/conversation-store.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import { retryAfterOf, windowOf } from '../ports/rate-limiter.ts';
import { type UsageDayRecord, type UsageDelta, type UsageStore, usageDayOf } from '../ports/usage-store.ts';
import type { AiDeps, AiLimits } from '../use-cases/process-incoming.ts';
import { FakeClock, RecordingCommandPublisher } from './fakes.ts';
import {
  InMemoryChatbotStore,
  InMemoryMessageStore,
  InMemoryRateLimiter,
  InMemorySessionStore,
  pageOf,
} from './in-memory-stores.ts';

// In-memory fakes of the AI processing ports; shared/adapters/ai-stores.contract.test.ts runs the
// same tests against these and the DynamoDB adapters.

export class InMemoryUsageStore implements UsageStore {
  readonly days = new Map<string, UsageDayRecord>();

  async add(tenantId: string, date: string, delta: UsageDelta): Promise<void> {
    const key = `${tenantId}#${date}`;
    const day = this.days.get(key) ?? {
      date,
      messagesIn: 0,
      messagesOut: 0,
      aiInputTokens: 0,
      aiOutputTokens: 0,
    };
    day.messagesIn += delta.messagesIn ?? 0;
    day.messagesOut += delta.messagesOut ?? 0;
    day.aiInputTokens += delta.aiInputTokens ?? 0;
    day.aiOutputTokens += delta.aiOutputTokens ?? 0;
    this.days.set(key, day);
  }

  async listDays(tenantId: string, from: string, to: string): Promise<UsageDayRecord[]> {
    return [...this.days.entries()]
      .filter(([key, day]) => key.startsWith(`${tenantId}#`) && day.date >= from && day.date <= to)
      .map(([, day]) => ({ ...day }))
      .sort((a, b) => a.date.localeCompare(b.date));
  }
}

/** Writes messages and usage into the given fakes, all or nothing like the DynamoDB transaction. */
export class InMemoryConversationStore implements ConversationStore {
  readonly items = new Map<string, Conversation>();
  /** Makes the next appendMessage fail before writing anything, like a DynamoDB outage. */
  failNext?: Error;
  /** tenantId → the send window last counted in and its count (kept on the usage day item in DynamoDB). */
  private readonly sendWindows = new Map<string, { window: number; count: number }>();

  constructor(
    private readonly messages: InMemoryMessageStore,
    private readonly usage: InMemoryUsageStore,
  ) {}

  async get(conversationId: string): Promise<Conversation | undefined> {
    const conversation = this.items.get(conversationId);
    return conversation && { ...conversation };
  }

  async listBySession(sessionId: string, page: PageRequest): Promise<Page<Conversation>> {
    const sortKey = (c: Conversation) => `${c.lastMessageAt}#${c.conversationId}`;
    const sorted = [...this.items.values()]
      .filter((c) => c.sessionId === sessionId)
      .sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
    return pageOf(sorted, sortKey, page);
  }

  async appendMessage(entry: AppendedMessage): Promise<boolean> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    const { message, now } = entry;
    const conversationId = message.conversationId;
    if (!conversationId) throw new Error('appendMessage needs a message with a conversationId');
    const { limit } = entry;
    const window = limit && windowOf(limit, limit.at);
    if (limit && window !== undefined && !(await this.messages.get(message.messageId))) {
      const used = this.sendWindows.get(message.tenantId);
      // As in DynamoDB: a window later than this one (another caller's clock) refuses it too.
      const count = used && used.window >= window ? used.count : 0;
      if ((used && used.window > window) || count >= limit.limit)
        throw new RateLimitedError(retryAfterOf(limit, limit.at));
    }
    if (!(await this.messages.putIfAbsent(message))) return false;
    if (window !== undefined) {
      const used = this.sendWindows.get(message.tenantId);
      this.sendWindows.set(message.tenantId, {
        window,
        count: used?.window === window ? used.count + 1 : 1,
      });
    }
    const before = this.items.get(conversationId);
    const inbound = message.direction === 'in';
    this.items.set(conversationId, {
      conversationId,
      tenantId: message.tenantId,
      sessionId: message.sessionId,
      peer: entry.peer,
      ...((entry.peerName ?? before?.peerName) && { peerName: entry.peerName ?? before?.peerName }),
      lastMessageAt: now,
      lastMessageText: message.text.slice(0, LAST_MESSAGE_PREVIEW_CHARS),
      lastDirection: message.direction,
      messageCount: (before?.messageCount ?? 0) + 1,
      unreadCount: inbound ? (before?.unreadCount ?? 0) + 1 : 0,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    });
    await this.usage.add(message.tenantId, usageDayOf(message.createdAt), entry.usage);
    return true;
  }
}

/** A chat model that answers from a script and records every request; `failNext` throws once. */
export class ScriptedChatModel implements ChatModel {
  readonly requests: ChatRequest[] = [];
  failNext?: Error;
  reply: (request: ChatRequest) => string = (r) => `re: ${r.messages.at(-1)?.text ?? ''}`;

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    this.requests.push(structuredClone(request));
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    return { text: this.reply(request), inputTokens: 100, outputTokens: 20 };
  }
}

export type FakeAiDeps = AiDeps & {
  sessions: InMemorySessionStore;
  chatbots: InMemoryChatbotStore;
  messages: InMemoryMessageStore;
  conversations: InMemoryConversationStore;
  usage: InMemoryUsageStore;
  chatModel: ScriptedChatModel;
  commands: RecordingCommandPublisher;
  clock: FakeClock;
  aiReplies: InMemoryRateLimiter;
};

/** The AI worker's ports as in-memory fakes, with small limits that tests can reach. */
/** The AI worker's ports in memory: 1000 AI replies a day and the offline model unless told otherwise. */
export const fakeAiDeps = (
  limits: Partial<AiLimits> = {},
  options: { aiRepliesPerDay?: number; allowedModels?: string[] } = {},
): FakeAiDeps => {
  const messages = new InMemoryMessageStore();
  const usage = new InMemoryUsageStore();
  return {
    sessions: new InMemorySessionStore(),
    chatbots: new InMemoryChatbotStore(),
    messages,
    usage,
    conversations: new InMemoryConversationStore(messages, usage),
    chatModel: new ScriptedChatModel(),
    commands: new RecordingCommandPublisher(),
    clock: new FakeClock(),
    limits: { historyMessages: 20, maxPromptChars: 12_000, maxReplyTokens: 512, timeoutMs: 1000, ...limits },
    aiReplies: new InMemoryRateLimiter({ limit: options.aiRepliesPerDay ?? 1000, windowSeconds: 86_400 }),
    allowedModels: options.allowedModels ?? ['offline'],
  };
};
