import {
  type BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import type { ChatCompletion, ChatModel, ChatRequest } from '../../ports/chat-model.ts';
import { isUnavailable } from '../aws-errors.ts';
import {
  ChatModelConfigError,
  ChatRequestRejectedError,
  estimateTokens,
  providerUnavailable,
} from './errors.ts';

const PROVIDER = 'bedrock';
const RETRY_LATER = new Set([
  'ThrottlingException',
  'ServiceUnavailableException',
  'InternalServerException',
  'ModelTimeoutException',
  'ModelNotReadyException',
  'ServiceQuotaExceededException',
  'AbortError',
  'TimeoutError',
]);
const MISCONFIGURED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

/** Maps a Converse failure (by its `x-amzn-errortype`, which the SDK turns into `name`) onto our kinds. */
const mapError = (error: unknown): Error => {
  if (!(error instanceof Error)) return providerUnavailable(PROVIDER, error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (RETRY_LATER.has(error.name) || status === 408 || status === 429 || isUnavailable(error)) {
    return providerUnavailable(PROVIDER, error);
  }
  if (MISCONFIGURED.has(error.name) || status === 401 || status === 403) {
    return new ChatModelConfigError(PROVIDER, `${error.name}: ${error.message}`);
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new ChatRequestRejectedError(PROVIDER, `${error.name}: ${error.message}`, status);
  }
  return providerUnavailable(PROVIDER, error);
};

/**
 * Amazon Bedrock through the Converse API (one request shape for every model family). The client
 * is built by the composition root (region, endpoint override, retries); the whole call, retries
 * included, is bounded by `timeoutMs`.
 */
export class BedrockChatModel implements ChatModel {
  constructor(private readonly client: BedrockRuntimeClient) {}

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    if (!request.model) throw new ChatModelConfigError(PROVIDER, 'no model id');
    const command = new ConverseCommand({
      modelId: request.model,
      ...(request.system && { system: [{ text: request.system }] }),
      messages: request.messages.map((m) => ({ role: m.role, content: [{ text: m.text }] })),
      inferenceConfig: { maxTokens: request.maxTokens },
    });
    let out: ConverseCommandOutput;
    try {
      out = await this.client.send(command, { abortSignal: AbortSignal.timeout(request.timeoutMs) });
    } catch (error) {
      throw mapError(error);
    }
    const blocks = out.output?.message?.content;
    if (!blocks) throw new ChatModelConfigError(PROVIDER, 'the answer has no output message');
    const text = blocks.map((block) => block.text ?? '').join('');
    return {
      text,
      inputTokens: out.usage?.inputTokens ?? estimateTokens(request.messages.map((m) => m.text).join('')),
      outputTokens: out.usage?.outputTokens ?? estimateTokens(text),
    };
  }
}
