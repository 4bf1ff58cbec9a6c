import * as z from 'zod';
import { whatsAppUrlProblem } from './loopback.ts';

/**
 * Environment keys, one schema per runtime. `infra/` sets exactly these keys on each function and
 * on the runner task, and the runtime parses them once at start: a missing or bad key fails at
 * start with every problem listed, never as an empty string later.
 */
const name = z.string().min(1);
const url = z.url();
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
// Queue URLs are opaque to the SDK (the stand-in's look like `http://sqs.us-east-1.127.0.0.1:port/…`).
const queueUrl = z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) queue URL');
/** A comma-separated list of model settings (`offline`, `bedrock:<id>`, `openai:<model>`, a bare id). */
const csvModels = z
  .string()
  .transform((s) => [
    ...new Set(
      s
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    ),
  ])
  .pipe(z.array(z.string()).min(1, 'must name at least one model'));

/**
 * The `model` values a chatbot may have on this stage (exactly as listed); a chatbot without one
 * uses the stage's default model. The local default is the offline responder; infra sets the
 * stage's Bedrock default (see infra/stage-config.ts).
 */
const allowedModels = csvModels.default(['offline']);

const csvUrls = z
  .string()
  .min(1)
  .transform((s) => s.split(',').map((u) => u.trim()))
  .pipe(z.array(queueUrl).min(1));

/** Where the AWS SDK clients point: AWS itself when unset, the local stand-ins when set. */
export const EndpointEnv = z.object({
  DYNAMODB_ENDPOINT: url.optional(),
  SQS_ENDPOINT: url.optional(),
  S3_ENDPOINT: url.optional(),
});

export const AuthorizerEnv = EndpointEnv.extend({ TENANTS_TABLE: name });

export const ApiEnv = EndpointEnv.extend({
  TENANTS_TABLE: name,
  SESSIONS_TABLE: name,
  MESSAGES_TABLE: name,
  REQUESTS_TABLE: name,
  USAGE_TABLE: name,
  /** Read to tell whether a runner still holds a session (a dead runner's CONNECTED is not shown). */
  LEASES_TABLE: name,
  /** One URL per shard, in shard order: `commands-0.fifo,commands-1.fifo,…`. */
  COMMAND_QUEUE_URLS: csvUrls,
  SEND_RATE_PER_MINUTE: positiveInt(60),
  /** Per-tenant `POST /init` calls per minute (each may start a socket and a QR on the runner). */
  INIT_RATE_PER_MINUTE: positiveInt(10),
  /** Sessions a tenant may have in all (each holds a socket on the runner). */
  SESSIONS_PER_TENANT: positiveInt(50),
  ALLOWED_MODELS: allowedModels,
  /** Webhook endpoints and their deliveries (the webhook routes only). */
  WEBHOOKS_TABLE: name,
  /** `webhook-deliveries.fifo`: the test route queues a `webhook.test` event there. */
  WEBHOOK_DELIVERY_QUEUE_URL: queueUrl,
  /** Local stack only: webhooks may be registered on loopback, over http:// too. Never set in AWS. */
  WEBHOOK_ALLOW_LOOPBACK: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** The bucket of the tenants' files (`media/<tenantId>/`): the media route only. */
  AUTH_STATE_BUCKET: name,
});

export type EndpointConfig = z.infer<typeof EndpointEnv>;
export type ApiConfig = z.infer<typeof ApiEnv>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment against a runtime's schema; throws one ConfigError naming every bad key. */
export const loadConfig = <S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> => {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
};

/** The env keys a schema reads (for infra: the variables a function must be given). */
export const envKeysOf = (schema: z.ZodObject): string[] => Object.keys(schema.shape);

export const AI_PROVIDERS = ['bedrock', 'openai', 'offline'] as const;

/** The AI Lambda on `incoming.fifo`. */
export const AiEnv = EndpointEnv.extend({
  SESSIONS_TABLE: name,
  MESSAGES_TABLE: name,
  USAGE_TABLE: name,
  COMMAND_QUEUE_URLS: csvUrls,
  AI_PROVIDER: z.enum(AI_PROVIDERS).default('offline'),
  /** Default model id when a chatbot names none (a Bedrock model id or an OpenAI-compatible model). */
  AI_MODEL: z.string().min(1).default('amazon.nova-lite-v1:0'),
  AI_TIMEOUT_MS: positiveInt(20_000),
  AI_HISTORY_MESSAGES: positiveInt(20),
  AI_MAX_REPLY_TOKENS: positiveInt(512),
  /** Characters of system prompt plus conversation sent to the model; the oldest messages are dropped first. */
  AI_MAX_PROMPT_CHARS: positiveInt(12_000),
  OPENAI_BASE_URL: url.optional(),
  /** The OpenAI-compatible key itself: for the local stack and tests only; in AWS use OPENAI_API_KEY_SECRET. */
  OPENAI_API_KEY: z.string().min(1).optional(),
  /** Name of an SSM SecureString / Secrets Manager secret holding the OpenAI-compatible key (never the key itself). */
  OPENAI_API_KEY_SECRET: z.string().min(1).optional(),
  BEDROCK_ENDPOINT: url.optional(),
  /** AI replies per tenant per UTC day; beyond it incoming messages are stored but not answered. */
  AI_REPLIES_PER_DAY: positiveInt(1000),
  ALLOWED_MODELS: allowedModels,
});

/** The session runner (ECS task, or the local stack's child process). */
export const RunnerEnv = EndpointEnv.extend({
  SESSIONS_TABLE: name,
  MESSAGES_TABLE: name,
  LEASES_TABLE: name,
  AUTH_STATE_BUCKET: name,
  COMMAND_QUEUE_URLS: csvUrls,
  INCOMING_QUEUE_URL: queueUrl,
  /** Shards this runner may serve: `all`, or a comma-separated list of shard numbers. */
  RUNNER_SHARDS: z.string().default('all'),
  RUNNER_ID: z.string().min(1).optional(),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LEASE_DURATION_MS: positiveInt(30_000),
  SEND_MIN_INTERVAL_MS: z.coerce.number().int().min(0).default(1000),
  /** How long a send waits for its session to (re)connect before it is FAILED. */
  SEND_WAIT_MS: positiveInt(120_000),
  /** Pause between session starts after a restart (no reconnect storm). */
  SESSION_STAGGER_MS: z.coerce.number().int().min(0).default(250),
  HEARTBEAT_MS: positiveInt(30_000),
  COMMAND_WAIT_SECONDS: z.coerce.number().int().min(0).max(20).default(20),
  /** Local development only: print the QR of a session waiting for a scan in the terminal. */
  PRINT_QR: z.enum(['terminal']).optional(),
  /** `wss://` anywhere; plain `ws://` only on loopback (the simulator). */
  WHATSAPP_WS_URL: z
    .string()
    .superRefine((value, ctx) => {
      const problem = whatsAppUrlProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('wss://web.whatsapp.com/ws/chat'),
  /** Hex root key of the loopback WhatsApp simulator; only honoured for a loopback WHATSAPP_WS_URL. */
  WHATSAPP_SIMULATOR_ROOT_KEY: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** PEM of the simulator's media CA; only honoured for a loopback WHATSAPP_WS_URL (local stack, tests). */
  WHATSAPP_SIMULATOR_MEDIA_CA: z.string().includes('BEGIN CERTIFICATE').optional(),
  /** WhatsApp Web version `major.minor.patch`; the pinned Baileys default when unset. */
  WHATSAPP_VERSION: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .optional(),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** Local stack only: tenant URLs (media sent by url) may be loopback, over http:// too. Never set in AWS. */
  WEBHOOK_ALLOW_LOOPBACK: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

export type AiConfig = z.infer<typeof AiEnv>;
export type RunnerConfig = z.infer<typeof RunnerEnv>;
