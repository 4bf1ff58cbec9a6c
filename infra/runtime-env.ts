import { EndpointEnv, envKeysOf } from '#shared/config.ts';
import type * as z from '#shared/zod.ts';

/**
 * Env keys shared by the CDK app and its tests: what each runtime schema asks for, minus what
 * only the local stack sets.
 */

/**
 * Never set in AWS: endpoint overrides point the SDK clients at local stand-ins, the OpenAI key
 * itself belongs in Secrets Manager (OPENAI_API_KEY_SECRET), and the simulator's root key only
 * matters for a loopback WhatsApp simulator, a QR in a terminal only for local development.
 */
export const LOCAL_ONLY_ENV_KEYS: readonly string[] = [
  ...envKeysOf(EndpointEnv),
  'BEDROCK_ENDPOINT',
  'OPENAI_API_KEY',
  'WHATSAPP_SIMULATOR_ROOT_KEY',
  'WHATSAPP_SIMULATOR_MEDIA_CA',
  'PRINT_QR',
];

/**
 * Keys set on every function and the runner beyond their schema: Powertools reads the service
 * name and metrics namespace, Node the source-map switch.
 */
export const RUNTIME_EXTRA_ENV_KEYS = [
  'NODE_OPTIONS',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
] as const;

/** CloudWatch namespace of the EMF metrics the runner and the AI Lambda emit. */
export const METRICS_NAMESPACE = 'WhatsAppGateway';

/**
 * Powertools service names (the `service` key of log lines and the `service` dimension of
 * metrics). The runner's must match what session-runner/metrics.ts writes, as the alarms select
 * its metrics by it.
 */
export const SERVICE_NAMES = {
  api: 'api',
  authorizer: 'authorizer',
  incomingAi: 'incoming-ai',
  runner: 'session-runner',
} as const;

/** The keys of a runtime schema that AWS must set (local-only endpoint keys removed). */
export const deployedEnvKeys = (schema: z.ZodMiniObject): string[] =>
  envKeysOf(schema).filter((key) => !LOCAL_ONLY_ENV_KEYS.includes(key));

/** Whether the schema gives a key a value when the env leaves it unset (a default, or optional). */
export const hasFallback = (schema: z.ZodMiniObject, key: string): boolean =>
  (schema.shape[key] as z.ZodMiniType).safeParse(undefined).success;

/** The schema's default for a key (e.g. `SEND_RATE_PER_MINUTE` → 60), as an env string. */
export const schemaDefault = (schema: z.ZodMiniObject, key: string): string => {
  const field = schema.shape[key] as z.ZodMiniType | undefined;
  if (!field) throw new Error(`${key} is not a key of this schema`);
  const value = field.parse(undefined);
  if (value === undefined) throw new Error(`${key} has no default`);
  return String(value);
};
