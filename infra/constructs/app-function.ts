import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { type IPrincipal, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TABLES } from '#shared/adapters/table-definitions.ts';
import type * as z from '#shared/zod.ts';
import { LAMBDA_BUNDLER, type LambdaBundleSpec } from '../bundle-lambda.ts';
import { REPO_ROOT } from '../paths.ts';
import {
  deployedEnvKeys,
  hasFallback,
  METRICS_NAMESPACE,
  RUNTIME_EXTRA_ENV_KEYS,
  schemaDefault,
} from '../runtime-env.ts';
import type { BindingTarget } from './bindings.ts';

export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;

/**
 * The build-time constants a function's bundle is made with. A function given no queue URL gets
 * `process.env.BUNDLE_WITHOUT_SQS` = 'true', one given no table `BUNDLE_WITHOUT_DYNAMODB`, so
 * those branches of the composition roots fold away and the client is not bundled
 * (functions/http/route-deps.ts); one not given a table `BUNDLE_WITHOUT_<ENV KEY>` (e.g.
 * `BUNDLE_WITHOUT_MESSAGES_TABLE`), so the stores on that table are not bundled either.
 */
export const bundleDefines = (envSchema: z.ZodMiniObject): Record<string, string> => {
  const keys = deployedEnvKeys(envSchema);
  const without = (name: string) => ({ [`process.env.BUNDLE_WITHOUT_${name}`]: JSON.stringify('true') });
  return {
    // Only tests record AWS calls (shared/adapters/aws-call-recorder.ts), never a deployed function.
    ...without('CALL_RECORDER'),
    ...(keys.some((key) => /QUEUE_URL/.test(key)) ? {} : without('SQS')),
    ...(keys.some((key) => /_TABLE$/.test(key)) ? {} : without('DYNAMODB')),
    // Per table: a route's stores on tables it does not declare (functions/composition-root.ts).
    ...Object.assign(
      {},
      ...Object.values(TABLES)
        .filter(({ envKey }) => !keys.includes(envKey))
        .map(({ envKey }) => without(envKey)),
    ),
  };
};

/**
 * The absolute entry path. When a handler module is still missing, a stack that is not bundled
 * (a test skips bundling) gets a placeholder so the rest of the template can be checked; a
 * bundled stack fails with the missing path.
 */
const resolveEntry = (scope: Construct, entry: string): string => {
  const path = join(REPO_ROOT, entry);
  if (existsSync(path)) return path;
  if (Stack.of(scope).bundlingRequired) {
    throw new Error(`Handler module ${entry} does not exist (needed to bundle ${scope.node.path})`);
  }
  return fileURLToPath(new URL('./unbundled-entry.ts', import.meta.url));
};

/**
 * The function's code as infra/bundle-lambda.ts builds it: minified and tree-shaken, the AWS
 * clients it uses inside (with the SDK trimming plugin, which the esbuild CLI behind CDK's own
 * NodejsFunction bundling cannot take), the source map in its own file. Built at synth in a child
 * process (a construct cannot wait for esbuild's async API); hashed by its output, as
 * NodejsFunction does. A stack that skips bundling (tests) gets no build.
 */
const lambdaCode = (scope: Construct, spec: LambdaBundleSpec): Code =>
  Code.fromAsset(REPO_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: the local build below either succeeds or fails the synth.
      image: DockerImage.fromRegistry('node:22-bookworm-slim'),
      // Also makes each function's bundling options (and so its asset cache key) its own.
      command: ['node', '--import', 'tsx', 'infra/bundle-lambda.ts', JSON.stringify(spec), '/asset-output'],
      local: {
        tryBundle: (outputDir: string) => {
          const child = spawnSync(
            process.execPath,
            ['--import', 'tsx', LAMBDA_BUNDLER, JSON.stringify(spec), outputDir],
            { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
          );
          if (child.status !== 0) {
            throw new Error(
              `Bundling ${scope.node.path} failed (esbuild's errors above): ${child.error?.message ?? `exit ${child.status}`}`,
            );
          }
          return true;
        },
      },
    },
  });

export interface AppFunctionProps {
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  description: string;
  /** Powertools service name (logger `service` key, metrics `service` dimension). */
  serviceName: string;
  /** The env schema the handler parses at start: the function gets exactly its keys. */
  envSchema: z.ZodMiniObject;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  memorySize?: number;
  timeout?: Duration;
}

/**
 * One Lambda function with the project's defaults: Node 22 on arm64, a lean ESM bundle made by
 * the local esbuild with the AWS clients it uses inside and an external source map, its own log group with retention, its
 * own role (only log writes until something is bound), Powertools settings. Env variables come
 * through the binding helpers, and synth fails when they drift from the handler's env schema.
 */
export class AppFunction extends Construct implements BindingTarget {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  private readonly envKeys = new Set<string>();
  private readonly envSchema: z.ZodMiniObject;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    this.envSchema = props.envSchema;
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    // An own role instead of the default one with AWSLambdaBasicExecutionRole: writes to this
    // function's log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (Lambda)`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      code: lambdaCode(this, {
        entry: resolveEntry(this, props.entry),
        define: bundleDefines(props.envSchema),
        // What each bundle holds, for esbuild's analyzeMetafile; set only by hand.
        ...(process.env.LAMBDA_METAFILE_DIR && {
          metafile: join(process.env.LAMBDA_METAFILE_DIR, `${this.node.path.replace(/\//g, '-')}.json`),
        }),
      }),
      handler: 'index.handler',
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
    });
    this.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
    this.addEnvironment('POWERTOOLS_SERVICE_NAME', props.serviceName);
    this.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', METRICS_NAMESPACE);

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the project pins and tests on (docs/toolchain.md); moving to 24 is a deliberate upgrade, not a drift.',
    });

    const allowed = new Set([...deployedEnvKeys(props.envSchema), ...RUNTIME_EXTRA_ENV_KEYS]);
    const required = deployedEnvKeys(props.envSchema).filter((key) => !hasFallback(props.envSchema, key));
    this.node.addValidation({
      validate: () => [
        ...[...this.envKeys]
          .filter((key) => !allowed.has(key))
          .map((key) => `${key} is not read by ${props.entry}`),
        ...required
          .filter((key) => !this.envKeys.has(key))
          .map((key) => `${key} is required by ${props.entry}`),
      ],
    });
  }

  get grantPrincipal(): IPrincipal {
    return this.role;
  }

  addEnvironment(key: string, value: string): void {
    this.envKeys.add(key);
    this.function.addEnvironment(key, value);
  }

  /**
   * Sets every schema key that has a default and is still unset to that default, so the tunables
   * in force are visible on the function (and a new one in the schema appears by itself).
   */
  addSchemaDefaults(): void {
    for (const key of deployedEnvKeys(this.envSchema)) {
      if (this.envKeys.has(key) || !hasFallback(this.envSchema, key)) continue;
      const field = this.envSchema.shape[key] as z.ZodMiniType;
      if (field.parse(undefined) !== undefined) this.addEnvironment(key, schemaDefault(this.envSchema, key));
    }
  }
}
