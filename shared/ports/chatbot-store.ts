import type { Chatbot } from '../domain/entities.ts';
import type { Page, PageRequest } from './page.ts';

export type ChatbotSettings = Partial<
  Pick<Chatbot, 'name' | 'aiEnabled' | 'systemPrompt' | 'model' | 'conversationManners'>
>;

export interface ChatbotStore {
  get(tenantId: string, chatbotId: string): Promise<Chatbot | undefined>;
  /** Creates the chatbot when missing (no-op when it exists) and returns the stored one. */
  createIfMissing(chatbot: Chatbot): Promise<Chatbot>;
  /** Applies the settings to an existing chatbot or creates it from `defaults` plus the settings. */
  upsert(defaults: Chatbot, settings: ChatbotSettings, now: string): Promise<Chatbot>;
  /** Links the session unless another one is linked already; false when it lost that race. */
  attachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<boolean>;
  /** Frees the chatbot of that session only (rollback after a failed init, or the session deleted). */
  detachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<void>;
  /** A page of a tenant's chatbots, newest first. */
  list(tenantId: string, page: PageRequest): Promise<Page<Chatbot>>;
  /**
   * Deletes the chatbot unless a session is linked to it: `deleted`, `has_session` (nothing
   * deleted), or `missing`.
   */
  delete(tenantId: string, chatbotId: string): Promise<'deleted' | 'has_session' | 'missing'>;
}
