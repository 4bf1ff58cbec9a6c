import type { UpsertChatbotInput } from '../contracts/http.ts';
import { type Chatbot, DEFAULT_SYSTEM_PROMPT } from '../domain/entities.ts';
import type { GatewayDeps } from './deps.ts';

/**
 * A chatbot with the defaults init uses when a tenant links a chatbot it never configured. AI is
 * off until the tenant turns it on: linking a number must not make every contact's message cost
 * model calls (and answer people) before the tenant chose a prompt and a model.
 */
export const defaultChatbot = (tenantId: string, chatbotId: string, now: string): Chatbot => ({
  tenantId,
  chatbotId,
  name: chatbotId,
  aiEnabled: false,
  systemPrompt: DEFAULT_SYSTEM_PROMPT,
  createdAt: now,
  updatedAt: now,
});

/** Creates or changes a chatbot's settings; fields left out keep their value. */
export const upsertChatbot = (
  deps: Pick<GatewayDeps, 'chatbots' | 'clock'>,
  tenantId: string,
  chatbotId: string,
  input: UpsertChatbotInput,
): Promise<Chatbot> => {
  const now = deps.clock.now().toISOString();
  return deps.chatbots.upsert(defaultChatbot(tenantId, chatbotId, now), input, now);
};
