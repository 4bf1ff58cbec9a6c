import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BedrockChatModel } from '#shared/adapters/ai/bedrock-chat-model.ts';
import { ChatModelConfigError } from '#shared/adapters/ai/errors.ts';
import { type AiProvider, ModelRouter } from '#shared/adapters/ai/model-router.ts';
import { OfflineChatModel } from '#shared/adapters/ai/offline-chat-model.ts';
import { OpenAiCompatibleChatModel } from '#shared/adapters/ai/openai-compatible-chat-model.ts';
import { secretApiKey } from '#shared/adapters/ai/secret-api-key.ts';
import { createDynamoAndSqsClients, type DynamoAndSqsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoChatbotStore } from '#shared/adapters/dynamodb-chatbot-store.ts';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoRateLimiter } from '#shared/adapters/dynamodb-rate-limiter.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { SqsCommandPublisher } from '#shared/adapters/sqs-command-publisher.ts';
import { type AiConfig, AiEnv, loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import type { ChatModel } from '#shared/ports/chat-model.ts';
import { systemClock } from '#shared/ports/clock.ts';
import type { AiDeps } from '#shared/use-cases/process-incoming.ts';

// The AI Lambda's composition root: configuration parsed and clients built once per container,
// on first use, so that importing the handler has no side effects.

export const logger = createLogger('whatsapp-gateway-ai');

const openAiKey = (config: AiConfig): (() => Promise<string>) => {
  const key = config.OPENAI_API_KEY;
  if (key) return async () => key;
  const secret = config.OPENAI_API_KEY_SECRET;
  if (secret) return secretApiKey(new SecretsManagerClient({}), secret);
  return async () => {
    throw new ChatModelConfigError('openai', 'neither OPENAI_API_KEY nor OPENAI_API_KEY_SECRET is set');
  };
};

/**
 * The providers behind the one ChatModel port. Bedrock is always available (a chatbot may name
 * `bedrock:<modelId>`); the OpenAI-compatible provider only with OPENAI_BASE_URL.
 */
export const buildChatModel = (config: AiConfig): ChatModel => {
  const providers: Partial<Record<AiProvider, ChatModel>> = {
    offline: new OfflineChatModel(),
    bedrock: new BedrockChatModel(
      new BedrockRuntimeClient({
        ...(config.BEDROCK_ENDPOINT && { endpoint: config.BEDROCK_ENDPOINT }),
        // One quick retry of a throttle inside the call; SQS redelivery is the retry beyond that.
        maxAttempts: 2,
      }),
    ),
    ...(config.OPENAI_BASE_URL && {
      openai: new OpenAiCompatibleChatModel({ baseUrl: config.OPENAI_BASE_URL, apiKey: openAiKey(config) }),
    }),
  };
  const model = config.AI_PROVIDER === 'offline' ? 'offline' : config.AI_MODEL;
  return new ModelRouter({ provider: config.AI_PROVIDER, model }, providers);
};

/** Builds the AI worker's ports on the given clients. */
export const buildAiDeps = (config: AiConfig, aws: DynamoAndSqsClients): AiDeps => {
  const table = (name: string) => new DynamoTable(aws.dynamo, name);
  return {
    sessions: new DynamoSessionStore(table(config.SESSIONS_TABLE)),
    chatbots: new DynamoChatbotStore(table(config.SESSIONS_TABLE)),
    messages: new DynamoMessageStore(table(config.MESSAGES_TABLE)),
    conversations: new DynamoConversationStore(aws.dynamo, {
      messages: config.MESSAGES_TABLE,
      usage: config.USAGE_TABLE,
    }),
    chatModel: buildChatModel(config),
    commands: new SqsCommandPublisher(aws.sqs, config.COMMAND_QUEUE_URLS),
    clock: systemClock,
    limits: {
      historyMessages: config.AI_HISTORY_MESSAGES,
      maxPromptChars: config.AI_MAX_PROMPT_CHARS,
      maxReplyTokens: config.AI_MAX_REPLY_TOKENS,
      timeoutMs: config.AI_TIMEOUT_MS,
    },
    // Counted on the tenant's item in the Usage table, which this worker writes anyway.
    aiReplies: new DynamoRateLimiter(table(config.USAGE_TABLE), {
      limit: config.AI_REPLIES_PER_DAY,
      windowSeconds: 86_400,
      key: (tenantId) => ({ pk: `TENANT#${tenantId}`, sk: 'LIMIT#ai-replies' }),
    }),
    allowedModels: config.ALLOWED_MODELS,
  };
};

let deps: AiDeps | undefined;

export const aiDeps = (): AiDeps => {
  if (!deps) {
    const config = loadConfig(AiEnv);
    deps = buildAiDeps(config, createDynamoAndSqsClients(config, { component: 'ai' }));
  }
  return deps;
};
