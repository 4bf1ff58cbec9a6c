import type { AI_PROVIDERS } from '../../config.ts';
import type { ChatCompletion, ChatModel, ChatRequest } from '../../ports/chat-model.ts';
import { ChatModelConfigError } from './errors.ts';

export type AiProvider = (typeof AI_PROVIDERS)[number];

export interface ModelDefaults {
  provider: AiProvider;
  /** The model of the default provider when a chatbot names none. */
  model: string;
}

/**
 * Which provider and model a chatbot's `model` setting means:
 * - unset or empty → the default provider with the default model;
 * - `offline` → the offline responder;
 * - `openai:<model>` / `bedrock:<modelId>` → that provider and model;
 * - anything else → a model id of the default provider (with the offline default, still offline).
 */
export const resolveModel = (
  setting: string | undefined,
  defaults: ModelDefaults,
): { provider: AiProvider; model: string } => {
  const value = setting?.trim();
  if (!value) return { provider: defaults.provider, model: defaults.model };
  if (value === 'offline') return { provider: 'offline', model: 'offline' };
  const prefixed = /^(openai|bedrock):(.+)$/.exec(value);
  if (prefixed) return { provider: prefixed[1] as AiProvider, model: prefixed[2] as string };
  return { provider: defaults.provider, model: value };
};

/** The one ChatModel the use case sees: routes each request to the provider its `model` names. */
export class ModelRouter implements ChatModel {
  constructor(
    private readonly defaults: ModelDefaults,
    private readonly providers: Partial<Record<AiProvider, ChatModel>>,
  ) {}

  complete(request: ChatRequest): Promise<ChatCompletion> {
    const { provider, model } = resolveModel(request.model, this.defaults);
    const target = this.providers[provider];
    if (!target) {
      return Promise.reject(new ChatModelConfigError(provider, 'this provider is not configured'));
    }
    return target.complete({ ...request, model });
  }
}
