import type { ChatbotViewT, MessageViewT, SessionViewT } from '../contracts/http.ts';
import type { Chatbot, Message, Session } from '../domain/entities.ts';

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;

export const toSessionView = (s: Session): SessionViewT =>
  defined({
    sessionId: s.sessionId,
    chatbotId: s.chatbotId,
    status: s.status,
    pairingCode: s.pairingCode,
    phoneNumber: s.phoneNumber,
    lastError: s.lastError,
    connectedAt: s.connectedAt,
    runnerSeenAt: s.runnerSeenAt,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  });

export const toChatbotView = (c: Chatbot): ChatbotViewT =>
  defined({
    chatbotId: c.chatbotId,
    name: c.name,
    aiEnabled: c.aiEnabled,
    systemPrompt: c.systemPrompt,
    model: c.model,
    conversationManners: c.conversationManners ?? true,
    sessionId: c.sessionId,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  });

export const toMessageView = (m: Message): MessageViewT =>
  defined({
    messageId: m.messageId,
    sessionId: m.sessionId,
    to: m.to,
    status: m.status,
    waMessageId: m.waMessageId,
    error: m.error,
    updatedAt: m.updatedAt,
  });
