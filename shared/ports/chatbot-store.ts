import type { Chatbot } from '../domain/entities.ts';

export type ChatbotSettings = Partial<Pick<Chatbot, 'name' | 'aiEnabled' | 'systemPrompt' | 'model'>>;

export interface ChatbotStore {
  get(tenantId: string, chatbotId: string): Promise<Chatbot | undefined>;
  /** Creates the chatbot when missing (no-op when it exists) and returns the stored one. */
  createIfMissing(chatbot: Chatbot): Promise<Chatbot>;
  /** Applies the settings to an existing chatbot or creates it from `defaults` plus the settings. */
  upsert(defaults: Chatbot, settings: ChatbotSettings, now: string): Promise<Chatbot>;
  /** Links the session unless another one is linked already; false when it lost that race. */
  attachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<boolean>;
  /** Undoes `attachSession` for that session only (rollback after a failed init). */
  detachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<void>;
}
