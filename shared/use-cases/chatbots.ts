import type { UpsertChatbotInput } from '../contracts/http.ts';
import { type Chatbot, DEFAULT_SYSTEM_PROMPT } from '../domain/entities.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import type { Page } from '../ports/page.ts';
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

/**
 * Whether a chatbot's `model` setting may run on this stage: unset means the stage's default model;
 * anything else must be listed exactly (a free-text model would run on the operator's account).
 */
export const isModelAllowed = (model: string | undefined, allowed: readonly string[]): boolean =>
  model === undefined || model.trim() === '' || allowed.includes(model.trim());

/** 400 MODEL_NOT_ALLOWED, naming the models this stage allows. */
export class ModelNotAllowedError extends AppError {
  constructor(allowed: readonly string[]) {
    const list = allowed.join(', ');
    super('invalid', 'MODEL_NOT_ALLOWED', `This model is not allowed here; allowed: ${list}`, [
      { path: 'body.model', message: `must be one of: ${list}` },
    ]);
  }
}

/**
 * Creates or changes a chatbot's settings; fields left out keep their value. A `model` the stage
 * does not allow is refused (400 MODEL_NOT_ALLOWED with the allowed list) and nothing is written.
 */
export const upsertChatbot = async (
  deps: Pick<GatewayDeps, 'chatbots' | 'clock' | 'allowedModels'>,
  tenantId: string,
  chatbotId: string,
  input: UpsertChatbotInput,
): Promise<Chatbot> => {
  if (!isModelAllowed(input.model, deps.allowedModels)) throw new ModelNotAllowedError(deps.allowedModels);
  const now = deps.clock.now().toISOString();
  return deps.chatbots.upsert(defaultChatbot(tenantId, chatbotId, now), input, now);
};

/** A page of the tenant's chatbots, newest first; 400 INVALID_CURSOR for a cursor of another list. */
export const listChatbots = (
  deps: Pick<GatewayDeps, 'chatbots'>,
  tenantId: string,
  query: { cursor?: string; limit?: number },
): Promise<Page<Chatbot>> => deps.chatbots.list(tenantId, { limit: query.limit ?? 50, cursor: query.cursor });

/** The tenant's chatbot; 404 for an unknown one and for another tenant's. */
export const getChatbot = async (
  deps: Pick<GatewayDeps, 'chatbots'>,
  tenantId: string,
  chatbotId: string,
): Promise<Chatbot> => {
  const chatbot = await deps.chatbots.get(tenantId, chatbotId);
  if (!chatbot) throw new NotFoundError('CHATBOT_NOT_FOUND', 'No such chatbot');
  return chatbot;
};

/**
 * Deletes the tenant's chatbot; 409 SESSION_EXISTS while a session is linked to it (delete the
 * session first), 404 for an unknown one and for another tenant's.
 */
export const deleteChatbot = async (
  deps: Pick<GatewayDeps, 'chatbots'>,
  tenantId: string,
  chatbotId: string,
): Promise<void> => {
  const outcome = await deps.chatbots.delete(tenantId, chatbotId);
  if (outcome === 'missing') throw new NotFoundError('CHATBOT_NOT_FOUND', 'No such chatbot');
  if (outcome === 'has_session') {
    throw new ConflictError('SESSION_EXISTS', 'The chatbot has a session: delete the session first');
  }
};
