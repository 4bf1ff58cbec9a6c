import { z } from 'zod';
import { AI_PROVIDERS } from '#shared/config.ts';

/**
 * The typed configuration of one deployment stage. `infra/app.ts` gathers the raw values (the
 * `stages` block of cdk.json, `-c key=value` context, a few env variables) and parses them here
 * once; every construct receives the parsed object and never reads env or context itself.
 */

// `-c shardCount=2` arrives as a string, a cdk.json value as a number: accept both.
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Fargate's valid CPU units and the memory range each allows (MiB). */
export const FARGATE_CPU_MEMORY: Record<number, [min: number, max: number]> = {
  256: [512, 2048],
  512: [1024, 4096],
  1024: [2048, 8192],
  2048: [4096, 16384],
  4096: [8192, 30720],
};

/** The retention periods CloudWatch Logs accepts (RetentionDays, without "never expire"). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const VpcConfig = z
  .object({
    /**
     * `public`: public subnets only, no NAT gateway, the task gets a public IP (cheapest; the
     * security group has no ingress). `private-nat`: the task in private subnets behind NAT.
     */
    mode: z.enum(['public', 'private-nat']).default('public'),
    cidr: z
      .string()
      .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR like 10.20.0.0/16')
      .optional(),
    maxAzs: int(1, 3).default(2),
    /** NAT gateways in `private-nat` mode (1 is cheaper, one per AZ survives an AZ outage). */
    natGateways: int(1, 3).default(1),
  })
  .prefault({});

export const StageConfigSchema = z
  .object({
    /** Lower-case stage name; part of the stack names (`WaGateway-<stage>-Stateful`). */
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,19}$/, 'lower-case letters, digits and dashes, starting with a letter')
      .default('dev'),
    /** Number of `commands-<n>.fifo` queues and of shards a session can belong to. */
    shardCount: int(1, 64).default(1),
    /** Runner tasks; each holds the leases of the shards it wins (1 holds them all). */
    runnerCount: int(1, 16).default(1),
    runnerCpu: z.coerce
      .number()
      .refine((cpu) => cpu in FARGATE_CPU_MEMORY, 'one of 256, 512, 1024, 2048, 4096')
      .default(1024),
    runnerMemoryMiB: int(512, 30720).default(2048),
    runnerArchitecture: z.enum(['arm64', 'x86_64']).default('arm64'),
    aiProvider: z.enum(AI_PROVIDERS).default('bedrock'),
    /** Default model of the AI Lambda (a Bedrock model id, or an inference profile id like `us.…`). */
    aiModel: z.string().min(1).default('amazon.nova-lite-v1:0'),
    /** Further Bedrock models that chatbots may name in their `model` field. */
    aiExtraModels: z
      .union([z.array(z.string().min(1)), z.string().transform((s) => s.split(',').filter(Boolean))])
      .default([]),
    openAiBaseUrl: z.url().optional(),
    /** Secrets Manager secret name (or SSM SecureString parameter name) holding the OpenAI-compatible key. */
    openAiApiKeySecret: z.string().min(1).optional(),
    /** CloudWatch Logs retention; one of the values CloudWatch accepts. */
    logRetentionDays: z.coerce
      .number()
      .refine((days) => LOG_RETENTION_DAYS.includes(days), `one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
    alarmEmail: z.email().optional(),
    vpc: VpcConfig,
    /** `destroy` only for throw-away stages: tables, bucket and key go with the stack. */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    /** Days incoming media is kept (`MEDIA_RETENTION_DAYS`): a lifecycle rule on `media/` of the auth-state bucket. */
    mediaRetentionDays: int(1, 3650).default(30),
    /** Per-tenant send rate of the API (`SEND_RATE_PER_MINUTE`). */
    sendRatePerMinute: int(1, 100_000).default(60),
    /** Per-tenant `POST /init` calls per minute (`INIT_RATE_PER_MINUTE`): each may start a socket and a QR. */
    initRatePerMinute: int(1, 10_000).default(10),
    /** Sessions a tenant may have in all (`SESSIONS_PER_TENANT`): each holds a socket on a runner. */
    sessionsPerTenant: int(1, 100_000).default(50),
    /** AI replies per tenant per UTC day (`AI_REPLIES_PER_DAY`); beyond it messages are stored, not answered. */
    aiRepliesPerDay: int(1, 10_000_000).default(1000),
    /**
     * The `model` values a chatbot may set (`ALLOWED_MODELS`, matched exactly); by default the
     * stage's own models (see allowedModelsOf). Bedrock models must be `aiModel` or in `aiExtraModels`,
     * the only ones the AI Lambda may invoke.
     */
    allowedModels: z
      .union([z.array(z.string().min(1)), z.string().transform((s) => s.split(',').filter(Boolean))])
      .pipe(z.array(z.string().trim().min(1)).min(1))
      .optional(),
    /** Minimum gap between two sends of one session (`SEND_MIN_INTERVAL_MS`). */
    sendMinIntervalMs: int(0, 60_000).default(1000),
    /** Pins the WhatsApp Web version when WhatsApp refuses the bundled one (405). */
    whatsappVersion: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/)
      .optional(),
    runnerLogLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
    /** HTTP API stage throttling (requests per second, burst). */
    apiRateLimit: int(1, 10_000).default(50),
    apiBurstLimit: int(1, 5_000).default(100),
  })
  .superRefine((c, ctx) => {
    const range = FARGATE_CPU_MEMORY[c.runnerCpu];
    if (range && (c.runnerMemoryMiB < range[0] || c.runnerMemoryMiB > range[1])) {
      ctx.addIssue({
        code: 'custom',
        path: ['runnerMemoryMiB'],
        message: `Fargate allows ${range[0]}–${range[1]} MiB with ${c.runnerCpu} CPU units`,
      });
    }
    if (c.runnerCount > c.shardCount) {
      ctx.addIssue({
        code: 'custom',
        path: ['runnerCount'],
        message: 'more runners than shards would leave runners idle',
      });
    }
    const invocable = new Set([...(c.aiProvider === 'bedrock' ? [c.aiModel] : []), ...c.aiExtraModels]);
    for (const model of c.allowedModels ?? []) {
      const bedrock =
        /^bedrock:(.+)$/.exec(model)?.[1] ??
        (c.aiProvider === 'bedrock' && !/^(openai:|offline$)/.test(model) ? model : undefined);
      if (bedrock !== undefined && !invocable.has(bedrock)) {
        ctx.addIssue({
          code: 'custom',
          path: ['allowedModels'],
          message: `${model}: the AI Lambda may invoke only aiModel and aiExtraModels on Bedrock`,
        });
      }
    }
    if (c.aiProvider === 'openai' && !c.openAiBaseUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['openAiBaseUrl'],
        message: 'required when aiProvider is openai',
      });
    }
  });

export type StageConfig = z.output<typeof StageConfigSchema>;
export type StageConfigInput = z.input<typeof StageConfigSchema>;

export class StageConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid stage configuration: ${problems.join('; ')}`);
    this.name = 'StageConfigError';
  }
}

/** Parses a raw stage configuration; throws one StageConfigError naming every bad key. */
export const parseStageConfig = (raw: unknown): StageConfig => {
  const result = StageConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new StageConfigError(
      result.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`),
    );
  }
  return result.data;
};

/**
 * The `model` values chatbots may name on the stage (`ALLOWED_MODELS`): the configured list, or else
 * the stage's default model and its extra Bedrock models, in each way a chatbot may write them.
 */
export const allowedModelsOf = (c: StageConfig): string[] => {
  if (c.allowedModels) return c.allowedModels;
  const extras = c.aiExtraModels.flatMap((m) =>
    c.aiProvider === 'bedrock' ? [m, `bedrock:${m}`] : [`bedrock:${m}`],
  );
  const defaults = c.aiProvider === 'offline' ? ['offline'] : [c.aiModel, `${c.aiProvider}:${c.aiModel}`];
  return [...new Set([...defaults, ...extras])];
};

/** The keys that may be given one by one as `-c key=value` (the vpc block as `vpcMode`, `vpcCidr`, …). */
export const FLAT_CONTEXT_KEYS = Object.keys(StageConfigSchema.shape).filter((k) => k !== 'vpc');
export const VPC_CONTEXT_KEYS = {
  vpcMode: 'mode',
  vpcCidr: 'cidr',
  vpcMaxAzs: 'maxAzs',
  vpcNatGateways: 'natGateways',
};

/**
 * Merges the layers of raw configuration, later ones winning: a stage block from cdk.json,
 * then single context keys. Pure: the caller supplies the values it read.
 */
export const mergeStageInput = (
  stageBlock: Record<string, unknown> | undefined,
  flat: Record<string, unknown>,
): Record<string, unknown> => {
  const merged: Record<string, unknown> = { ...(stageBlock ?? {}) };
  const vpc: Record<string, unknown> = {
    ...((stageBlock?.vpc as Record<string, unknown> | undefined) ?? {}),
  };
  for (const [key, value] of Object.entries(flat)) {
    if (value === undefined || value === '') continue;
    if (key in VPC_CONTEXT_KEYS) vpc[VPC_CONTEXT_KEYS[key as keyof typeof VPC_CONTEXT_KEYS]] = value;
    else merged[key] = value;
  }
  merged.vpc = vpc;
  return merged;
};
