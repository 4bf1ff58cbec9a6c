export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
}

export interface ChatRequest {
  /**
   * The chatbot's model: `offline`, `openai:<model>`, `bedrock:<modelId>`, a bare model id for the
   * configured default provider, or undefined for the configured default model.
   */
  model?: string;
  system: string;
  /** Oldest first; starts with and ends with a user turn, roles alternating. */
  messages: ChatTurn[];
  maxTokens: number;
  timeoutMs: number;
  /** The chatbot's display name (used by the offline responder only). */
  assistantName?: string;
}

export interface ChatCompletion {
  text: string;
  inputTokens: number;
  outputTokens: number;
}

/**
 * A chat-completion provider. Failures are AppErrors: `unavailable` (throttled, 5xx, timeout,
 * network; retry later), `invalid` (the provider refused this request: bad model id, prompt too
 * long, content rejected), `internal` (misconfiguration: credentials, permissions, a provider not
 * configured, an unreadable answer).
 */
export interface ChatModel {
  complete(request: ChatRequest): Promise<ChatCompletion>;
}
