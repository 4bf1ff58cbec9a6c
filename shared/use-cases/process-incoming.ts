import type { MessageReceived } from '../contracts/incoming.ts';
import { DEFAULT_SYSTEM_PROMPT, type Message } from '../domain/entities.ts';
import { deriveId } from '../domain/ids.ts';
import { AppError } from '../errors.ts';
import type { ChatModel, ChatTurn } from '../ports/chat-model.ts';
import type { ChatbotStore } from '../ports/chatbot-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { CommandPublisher } from '../ports/command-publisher.ts';
import type { ConversationStore } from '../ports/conversation-store.ts';
import type { MessageStore } from '../ports/message-store.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import type { SessionStore } from '../ports/session-store.ts';
import { isModelAllowed } from './chatbots.ts';
import { enqueueSend } from './enqueue-send.ts';

export interface AiLimits {
  /** How many messages of the conversation (the one answered included) the prompt may carry. */
  historyMessages: number;
  /** Characters of system prompt plus messages; the oldest messages are dropped first. */
  maxPromptChars: number;
  maxReplyTokens: number;
  timeoutMs: number;
}

/** The ports the AI worker runs on. */
export interface AiDeps {
  sessions: SessionStore;
  chatbots: ChatbotStore;
  messages: MessageStore;
  conversations: ConversationStore;
  chatModel: ChatModel;
  commands: CommandPublisher;
  clock: Clock;
  limits: AiLimits;
  /** AI replies per tenant per UTC day: beyond it a message is stored and counted, not answered. */
  aiReplies: RateLimiter;
  /** The `model` values a chatbot may name on this stage; any other is never sent to a provider. */
  allowedModels: readonly string[];
}

/** A WhatsApp text is at most this long; so is a reply. */
export const MAX_REPLY_CHARS = 4096;
/** A system prompt always leaves at least this much room for the messages. */
const MIN_MESSAGE_BUDGET = 1000;

// Every id is derived from the WhatsApp message, so a redelivered record finds what its first
// attempt wrote instead of writing it again.
export const conversationIdOf = (sessionId: string, chat: string): string =>
  deriveId('conv', sessionId, chat);
export const inboundMessageIdOf = (sessionId: string, waMessageId: string): string =>
  deriveId('in', sessionId, waMessageId);
export const replyMessageIdOf = (inboundMessageId: string): string => deriveId('reply', inboundMessageId);

export type NoReplyReason =
  | 'session-unknown'
  | 'session-stopped'
  | 'chatbot-unknown'
  | 'ai-disabled'
  /** The chatbot names a model this stage does not allow (set before the allow-list, or by hand). */
  | 'model-not-allowed'
  /** The tenant had all its AI replies of the day. */
  | 'ai-reply-limit'
  | 'empty-reply';

export interface IncomingResult {
  conversationId: string;
  messageId: string;
  /** False when an earlier delivery of the same record stored it already. */
  newlyStored: boolean;
  reply?: {
    messageId: string;
    /** `queued`: answered now; `requeued`: stored by an earlier attempt, enqueued again; `done`: sent already. */
    outcome: 'queued' | 'requeued' | 'done';
  };
  noReply?: NoReplyReason;
}

const jidOf = (phoneNumber: string | undefined): string | undefined =>
  phoneNumber ? `${phoneNumber}@s.whatsapp.net` : undefined;

/**
 * Handles one `message.received`: stores the message with its conversation and usage (once, however
 * often the record arrives), then, when the chatbot answers with AI, asks the model and queues the
 * reply as a send command.
 *
 * Order for "never twice, never half": ask the model → store the reply (QUEUED, id derived from the
 * inbound message, counted in the same write) → enqueue the send (deduplicated by the reply id). A
 * failure anywhere throws and the record is retried: a model that failed is asked again; a reply
 * that was stored but not enqueued is enqueued again without asking the model a second time.
 * Throws `invalid` for a record that contradicts the stored session (another tenant's).
 */
export const processIncoming = async (deps: AiDeps, event: MessageReceived): Promise<IncomingResult> => {
  const session = await deps.sessions.get(event.sessionId);
  if (session && session.tenantId !== event.tenantId) {
    throw new AppError('invalid', 'TENANT_MISMATCH', 'The message names another tenant than its session');
  }
  const now = deps.clock.now().toISOString();
  const conversationId = conversationIdOf(event.sessionId, event.chat);
  // One time format everywhere: messages are listed by this string.
  const receivedAt = new Date(event.timestamp).toISOString();
  const inbound: Message = {
    messageId: inboundMessageIdOf(event.sessionId, event.waMessageId),
    tenantId: event.tenantId,
    sessionId: event.sessionId,
    conversationId,
    direction: 'in',
    from: event.from,
    // Kept on the message too (the sender's name in a group), for `message.received`.
    ...(event.pushName && { pushName: event.pushName }),
    to: jidOf(session?.phoneNumber) ?? '',
    text: event.text,
    ...(event.media && { media: event.media }),
    status: 'DELIVERED',
    waMessageId: event.waMessageId,
    createdAt: receivedAt,
    updatedAt: now,
  };
  const peer = {
    peer: event.chat,
    // In a group the push name is the sender's, not the conversation's.
    ...(event.chat === event.from && event.pushName && { peerName: event.pushName }),
  };
  const newlyStored = await deps.conversations.appendMessage({
    message: inbound,
    ...peer,
    usage: { messagesIn: 1 },
    now,
  });
  const result = { conversationId, messageId: inbound.messageId, newlyStored };

  if (!session) return { ...result, noReply: 'session-unknown' };
  const replyId = replyMessageIdOf(inbound.messageId);
  // A reply an earlier attempt stored is finished whatever the settings say now.
  const earlier = await deps.messages.get(replyId);
  if (earlier) {
    if (earlier.status !== 'QUEUED') return { ...result, reply: { messageId: replyId, outcome: 'done' } };
    await enqueueSend(deps, session, earlier);
    return { ...result, reply: { messageId: replyId, outcome: 'requeued' } };
  }
  if (session.desiredState === 'stopped') return { ...result, noReply: 'session-stopped' };
  const chatbot = await deps.chatbots.get(event.tenantId, event.chatbotId);
  if (!chatbot) return { ...result, noReply: 'chatbot-unknown' };
  if (!chatbot.aiEnabled) return { ...result, noReply: 'ai-disabled' };
  if (!isModelAllowed(chatbot.model, deps.allowedModels)) return { ...result, noReply: 'model-not-allowed' };
  const day = deps.clock.now();
  if (!(await deps.aiReplies.consume(event.tenantId, day)).allowed) {
    return { ...result, noReply: 'ai-reply-limit' };
  }

  const system = chatbot.systemPrompt.trim() || DEFAULT_SYSTEM_PROMPT;
  const history = await deps.messages.listByConversation(conversationId, {
    limit: deps.limits.historyMessages + 1,
    newestFirst: true,
  });
  const before = history.items
    .filter((m) => m.messageId !== inbound.messageId && m.messageId !== replyId)
    .filter((m) => !(m.direction === 'out' && m.status === 'FAILED')) // never seen by the peer
    .slice(0, deps.limits.historyMessages - 1)
    .reverse();
  // A reply that is not made gives its place in the day's limit back (the retry counts again).
  const giveBack = () => deps.aiReplies.release(event.tenantId, day).catch(() => undefined);
  const completion = await deps.chatModel
    .complete({
      ...(chatbot.model && { model: chatbot.model }),
      system,
      messages: fitPrompt(system, [...before, inbound], deps.limits.maxPromptChars),
      maxTokens: deps.limits.maxReplyTokens,
      timeoutMs: deps.limits.timeoutMs,
      ...(chatbot.name && { assistantName: chatbot.name }),
    })
    .catch(async (error: unknown) => {
      await giveBack();
      throw error;
    });
  const text = completion.text.trim().slice(0, MAX_REPLY_CHARS);
  if (!text) {
    await giveBack();
    return { ...result, noReply: 'empty-reply' };
  }

  // After the inbound message even when the phone's clock runs ahead, so the reply lists after it.
  const createdAt = new Date(Math.max(Date.parse(now), Date.parse(receivedAt) + 1)).toISOString();
  const reply: Message = {
    messageId: replyId,
    tenantId: event.tenantId,
    sessionId: event.sessionId,
    conversationId,
    direction: 'out',
    ...(jidOf(session.phoneNumber) && { from: jidOf(session.phoneNumber) }),
    to: event.chat,
    text,
    status: 'QUEUED',
    createdAt,
    updatedAt: createdAt,
  };
  const stored = await deps.conversations.appendMessage({
    message: reply,
    ...peer,
    usage: {
      messagesOut: 1,
      aiInputTokens: completion.inputTokens,
      aiOutputTokens: completion.outputTokens,
    },
    now,
  });
  // A concurrent delivery stored its own reply first: send that one, whose usage it counted.
  const toSend = stored ? reply : ((await deps.messages.get(replyId)) ?? reply);
  // Manners on unless the chatbot turned them off: read the message, "typing…", then the reply.
  const manners =
    chatbot.conversationManners === false
      ? undefined
      : { readWaMessageId: event.waMessageId, chat: event.chat };
  if (toSend.status === 'QUEUED') await enqueueSend(deps, session, toSend, manners);
  return { ...result, reply: { messageId: replyId, outcome: stored ? 'queued' : 'requeued' } };
};

/**
 * The conversation as chat turns a provider accepts: oldest first, roles alternating (consecutive
 * messages of one side joined), starting and ending with the user, and at most `maxChars` with the
 * system prompt: the oldest turns go first, and the message being answered is cut if it alone is too long.
 */
export const fitPrompt = (
  system: string,
  messages: Pick<Message, 'direction' | 'text'>[],
  maxChars: number,
): ChatTurn[] => {
  const turns: ChatTurn[] = [];
  for (const m of messages) {
    const role = m.direction === 'in' ? 'user' : 'assistant';
    const last = turns.at(-1);
    if (last?.role === role) last.text = `${last.text}\n${m.text}`;
    else turns.push({ role, text: m.text });
  }
  while (turns.at(-1)?.role === 'assistant') turns.pop();
  let budget = Math.max(maxChars - system.length, MIN_MESSAGE_BUDGET);
  const kept: ChatTurn[] = [];
  for (const turn of turns.reverse()) {
    if (kept.length === 0) {
      kept.push({ role: turn.role, text: turn.text.slice(0, budget) });
      budget -= Math.min(turn.text.length, budget);
      continue;
    }
    if (turn.text.length > budget) break;
    kept.push(turn);
    budget -= turn.text.length;
  }
  kept.reverse();
  while (kept[0]?.role === 'assistant') kept.shift();
  return kept;
};
