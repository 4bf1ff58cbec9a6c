import { whatsAppUrlProblem } from './loopback.ts';
import * as z from './zod.ts';

/**
 * Environment keys, one schema per runtime. `infra/` sets exactly these keys on each function and
 * on the runner task, and the runtime parses them once at start: a missing or bad key fails at
 * start with every problem listed, never as an empty string later.
 */
const name = z.string().check(z.minLength(1));
const url = z.url();
const positiveInt = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.gt(0)), fallback);
// Queue URLs are opaque to the SDK (the stand-in's look like `http://sqs.us-east-1.127.0.0.1:port/…`).
const queueUrl = z.string().check(z.regex(/^https?:\/\/\S+$/, 'must be an http(s) queue URL'));
/** A comma-separated list of model settings (`offline`, `bedrock:<id>`, `openai:<model>`, a bare id). */
const csvModels = z.pipe(
  z.pipe(
    z.string(),
    z.transform((s) => [
      ...new Set(
        s
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean),
      ),
    ]),
  ),
  z.array(z.string()).check(z.minLength(1, 'must name at least one model')),
);

/**
 * The `model` values a chatbot may have on this stage (exactly as listed); a chatbot without one
 * uses the stage's default model. The local default is the offline responder; infra sets the
 * stage's Bedrock default (see infra/stage-config.ts).
 */
const allowedModels = z._default(csvModels, ['offline']);

const csvUrls = z.pipe(
  z.pipe(
    z.string().check(z.minLength(1)),
    z.transform((s) => s.split(',').map((u) => u.trim())),
  ),
  z.array(queueUrl).check(z.minLength(1)),
);
/** `'true'` or `'false'` (absent: false) as a boolean. */
const flag = z.pipe(
  z._default(z.enum(['true', 'false']), 'false'),
  z.transform((v) => v === 'true'),
);

/** Where the AWS SDK clients point: AWS itself when unset, the local stand-ins when set. */
export const EndpointEnv = z.object({
  DYNAMODB_ENDPOINT: z.optional(url),
  SQS_ENDPOINT: z.optional(url),
  S3_ENDPOINT: z.optional(url),
});

export const AuthorizerEnv = z.extend(EndpointEnv, { TENANTS_TABLE: name });

export const ApiEnv = z.extend(EndpointEnv, {
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
  WEBHOOK_ALLOW_LOOPBACK: flag,
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
export const loadConfig = <S extends z.core.$ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> => {
  const result = z.safeParse(schema, env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
};

/** The env keys a schema reads (for infra: the variables a function must be given). */
export const envKeysOf = (schema: z.ZodMiniObject): string[] => Object.keys(schema.shape);

export const AI_PROVIDERS = ['bedrock', 'openai', 'offline'] as const;

/** The AI Lambda on `incoming.fifo`. */
export const AiEnv = z.extend(EndpointEnv, {
  SESSIONS_TABLE: name,
  MESSAGES_TABLE: name,
  USAGE_TABLE: name,
  COMMAND_QUEUE_URLS: csvUrls,
  AI_PROVIDER: z._default(z.enum(AI_PROVIDERS), 'offline'),
  /** Default model id when a chatbot names none (a Bedrock model id or an OpenAI-compatible model). */
  AI_MODEL: z._default(z.string().check(z.minLength(1)), 'amazon.nova-lite-v1:0'),
  AI_TIMEOUT_MS: positiveInt(20_000),
  AI_HISTORY_MESSAGES: positiveInt(20),
  AI_MAX_REPLY_TOKENS: positiveInt(512),
  /** Characters of system prompt plus conversation sent to the model; the oldest messages are dropped first. */
  AI_MAX_PROMPT_CHARS: positiveInt(12_000),
  OPENAI_BASE_URL: z.optional(url),
  /** The OpenAI-compatible key itself: for the local stack and tests only; in AWS use OPENAI_API_KEY_SECRET. */
  OPENAI_API_KEY: z.optional(z.string().check(z.minLength(1))),
  /** Name of an SSM SecureString / Secrets Manager secret holding the OpenAI-compatible key (never the key itself). */
  OPENAI_API_KEY_SECRET: z.optional(z.string().check(z.minLength(1))),
  BEDROCK_ENDPOINT: z.optional(url),
  /** AI replies per tenant per UTC day; beyond it incoming messages are stored but not answered. */
  AI_REPLIES_PER_DAY: positiveInt(1000),
  ALLOWED_MODELS: allowedModels,
});

/** The session runner (ECS task, or the local stack's child process). */
export const RunnerEnv = z.extend(EndpointEnv, {
  SESSIONS_TABLE: name,
  MESSAGES_TABLE: name,
  LEASES_TABLE: name,
  AUTH_STATE_BUCKET: name,
  COMMAND_QUEUE_URLS: csvUrls,
  INCOMING_QUEUE_URL: queueUrl,
  /** Shards this runner may serve: `all`, or a comma-separated list of shard numbers. */
  RUNNER_SHARDS: z._default(z.string(), 'all'),
  RUNNER_ID: z.optional(z.string().check(z.minLength(1))),
  HEALTH_PORT: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(65535)), 8080),
  LEASE_DURATION_MS: positiveInt(30_000),
  SEND_MIN_INTERVAL_MS: z._default(z.coerce.number().check(z.int(), z.gte(0)), 1000),
  /** How long a send waits for its session to (re)connect before it is FAILED. */
  SEND_WAIT_MS: positiveInt(120_000),
  /** Pause between session starts after a restart (no reconnect storm). */
  SESSION_STAGGER_MS: z._default(z.coerce.number().check(z.int(), z.gte(0)), 250),
  HEARTBEAT_MS: positiveInt(30_000),
  COMMAND_WAIT_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(20)), 20),
  /**
   * How long a received command stays hidden from other runners (renewed every third while held):
   * after a crash, what the dead runner held comes back after this long.
   */
  COMMAND_VISIBILITY_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(3), z.lte(43_200)), 30),
  /** Local development only: print the QR of a session waiting for a scan in the terminal. */
  PRINT_QR: z.optional(z.enum(['terminal'])),
  /** `wss://` anywhere; plain `ws://` only on loopback (the simulator). */
  WHATSAPP_WS_URL: z._default(
    z.string().check(
      z.superRefine((value, ctx) => {
        const problem = whatsAppUrlProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    ),
    'wss://web.whatsapp.com/ws/chat',
  ),
  /** Hex root key of the loopback WhatsApp simulator; only honoured for a loopback WHATSAPP_WS_URL. */
  WHATSAPP_SIMULATOR_ROOT_KEY: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
  /** PEM of the simulator's media CA; only honoured for a loopback WHATSAPP_WS_URL (local stack, tests). */
  WHATSAPP_SIMULATOR_MEDIA_CA: z.optional(z.string().check(z.includes('BEGIN CERTIFICATE'))),
  /** WhatsApp Web version `major.minor.patch`; the pinned Baileys default when unset. */
  WHATSAPP_VERSION: z.optional(z.string().check(z.regex(/^\d+\.\d+\.\d+$/))),
  LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  /** Local stack only: tenant URLs (media sent by url) may be loopback, over http:// too. Never set in AWS. */
  WEBHOOK_ALLOW_LOOPBACK: flag,
});

export type AiConfig = z.infer<typeof AiEnv>;
export type RunnerConfig = z.infer<typeof RunnerEnv>;
