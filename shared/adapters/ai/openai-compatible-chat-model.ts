import type { ChatCompletion, ChatModel, ChatRequest } from '../../ports/chat-model.ts';
import * as z from '../../zod.ts';
import {
  ChatModelConfigError,
  ChatRequestRejectedError,
  estimateTokens,
  providerUnavailable,
} from './errors.ts';

const PROVIDER = 'openai';

const CompletionResponse = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.nullish(z.string()) }) })).check(z.minLength(1)),
  usage: z.nullish(
    z.object({
      prompt_tokens: z.number().check(z.int(), z.gte(0)),
      completion_tokens: z.number().check(z.int(), z.gte(0)),
    }),
  ),
});

export interface OpenAiCompatibleOptions {
  /** e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  /** The API key, resolved on first use (an env var locally, a secret in AWS) and cached by the caller. */
  apiKey: () => Promise<string>;
}

const errorDetail = (body: string): string => {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const message =
      typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: use the text itself
  }
  return body;
};

/**
 * Any OpenAI-compatible chat completions endpoint (OpenAI, Azure OpenAI's v1 API, vLLM, Ollama,
 * LiteLLM, …): `POST {base}/chat/completions` with a bearer key, bounded by `timeoutMs` (headers
 * and body). 408/409/429/5xx and network errors are `unavailable`, 401/403 `internal`, other 4xx `invalid`.
 */
export class OpenAiCompatibleChatModel implements ChatModel {
  private readonly url: string;

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    if (!request.model) throw new ChatModelConfigError(PROVIDER, 'no model name');
    const apiKey = await this.options.apiKey();
    const body = {
      model: request.model,
      messages: [
        ...(request.system ? [{ role: 'system', content: request.system }] : []),
        ...request.messages.map((m) => ({ role: m.role, content: m.text })),
      ],
      max_tokens: request.maxTokens,
    };
    let status: number;
    let text: string;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw providerUnavailable(PROVIDER, error);
    }
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      throw providerUnavailable(PROVIDER, new Error(`HTTP ${status}: ${errorDetail(text).slice(0, 500)}`));
    }
    if (status === 401 || status === 403) {
      throw new ChatModelConfigError(PROVIDER, `HTTP ${status}: ${errorDetail(text)}`);
    }
    if (status < 200 || status >= 300) {
      throw new ChatRequestRejectedError(PROVIDER, `HTTP ${status}: ${errorDetail(text)}`, status);
    }
    let parsed: z.infer<typeof CompletionResponse>;
    try {
      parsed = CompletionResponse.parse(JSON.parse(text));
    } catch {
      throw new ChatModelConfigError(PROVIDER, 'the answer is not a chat completion');
    }
    const reply = parsed.choices[0]?.message.content ?? '';
    return {
      text: reply,
      inputTokens:
        parsed.usage?.prompt_tokens ??
        estimateTokens([request.system, ...request.messages.map((m) => m.text)].join('\n')),
      outputTokens: parsed.usage?.completion_tokens ?? estimateTokens(reply),
    };
  }
}
