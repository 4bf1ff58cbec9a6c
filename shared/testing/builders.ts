import type { Chatbot, Message, Session } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';

const NOW = '2026-01-01T12:00:00.000Z';

export const aSession = (overrides: Partial<Session> = {}): Session => ({
  sessionId: newId(),
  tenantId: 'tenant-a',
  chatbotId: 'bot-1',
  shard: 0,
  status: 'DISCONNECTED',
  desiredState: 'running',
  createdAt: NOW,
  updatedAt: NOW,
  ...overrides,
});

export const aChatbot = (overrides: Partial<Chatbot> = {}): Chatbot => ({
  tenantId: 'tenant-a',
  chatbotId: 'bot-1',
  name: 'Bot',
  aiEnabled: true,
  systemPrompt: 'Be brief.',
  createdAt: NOW,
  updatedAt: NOW,
  ...overrides,
});

export const aMessage = (overrides: Partial<Message> = {}): Message => ({
  messageId: newId(),
  tenantId: 'tenant-a',
  sessionId: newId(),
  direction: 'out',
  to: '4915112345678@s.whatsapp.net',
  text: 'hello',
  status: 'QUEUED',
  createdAt: NOW,
  updatedAt: NOW,
  ...overrides,
});
