import type { UpsertChatbotInput } from '../contracts/http.ts';
import { type Chatbot, DEFAULT_SYSTEM_PROMPT } from '../domain/entities.ts';
import { AppError } from '../errors.ts';
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
