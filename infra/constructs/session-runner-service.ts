import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type IVpc, Peer, Port, SecurityGroup, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  AvailabilityZoneRebalancing,
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargatePlatformVersion,
  FargateService,
  FargateTaskDefinition,
  LinuxParameters,
  LogDrivers,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import { type IPrincipal, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type * as z from '#shared/zod.ts';
import { REPO_ROOT } from '../paths.ts';
import { deployedEnvKeys, hasFallback, METRICS_NAMESPACE, RUNTIME_EXTRA_ENV_KEYS } from '../runtime-env.ts';
import type { BindingTarget } from './bindings.ts';

/**
 * The image's build context is the repository root, narrowed to what the Dockerfile copies, so
 * that a change elsewhere (infra, cdk.json, the Lambdas) does not rebuild the image and restart
 * every WhatsApp socket. Docker ignore syntax; `.dockerignore` says the same for manual builds.
 */
export const RUNNER_IMAGE_EXCLUDES = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!tsconfig.json',
  '!shared',
  '!session-runner',
  '!infra/bundle-runner.ts',
  '!patches',
  '**/node_modules',
  '**/*.test.ts',
  '**/testing',
];

/** Seconds ECS waits after SIGTERM before SIGKILL: the runner's 30 s drain plus a margin. */
export const RUNNER_STOP_TIMEOUT = Duration.seconds(45);

export interface SessionRunnerServiceProps {
  vpc: IVpc;
  subnets: SubnetSelection;
  assignPublicIp: boolean;
  cpu: number;
  memoryMiB: number;
  architecture: 'arm64' | 'x86_64';
  /** Number of services; runner i serves the shards `s` with `s % runnerCount == i`. */
  runnerCount: number;
  shardCount: number;
  serviceName: string;
  envSchema: z.ZodMiniObject;
  healthPort: number;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** Grants the task role the tables, bucket and queues RunnerEnv names, setting their env keys. */
  bind: (target: BindingTarget & { role: Role }) => void;
  /** Further settings (env key → value) of RunnerEnv that are not resources. */
  settings: Record<string, string>;
}

/** Shards of runner `index` among `runnerCount`: `all` for a single runner. */
export const runnerShards = (index: number, runnerCount: number, shardCount: number): string =>
  runnerCount === 1
    ? 'all'
    : Array.from({ length: shardCount }, (_, shard) => shard)
        .filter((shard) => shard % runnerCount === index)
        .join(',');

/**
 * The session runner on ECS Fargate: one service per runner with one task each. A deployment
 * starts the new task while the old one still runs (100 % / 200 %): the new one gets healthy
 * holding no lease, then ECS stops the old one, which drains on SIGTERM (within the stop timeout),
 * closes its sockets and releases its leases, and the new one takes them within seconds (it
 * retries a lease it does not hold every 2 s). The leases decide who holds a shard, so two tasks
 * never serve the same sessions; their fencing tokens make a zombie task's writes void. The
 * circuit breaker rolls back a task that never gets healthy, and the old task stays until then.
 */
export class SessionRunnerService extends Construct implements BindingTarget {
  readonly cluster: Cluster;
  readonly taskRole: Role;
  readonly executionRole: Role;
  readonly logGroup: LogGroup;
  readonly securityGroup: SecurityGroup;
  readonly services: FargateService[] = [];
  private readonly environment: Record<string, string> = {};

  constructor(scope: Construct, id: string, props: SessionRunnerServiceProps) {
    super(scope, id);
    this.cluster = new Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.taskRole = new Role(this, 'TaskRole', {
      assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'WhatsApp gateway session runner task',
    });
    this.executionRole = new Role(this, 'ExecutionRole', {
      assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'WhatsApp gateway session runner: image pull and log delivery',
    });
    // Only outbound HTTPS (WhatsApp's WebSocket, AWS APIs, ECR); nothing can connect in.
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'WhatsApp gateway session runner: egress HTTPS only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'HTTPS to WhatsApp and AWS');

    this.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
    this.addEnvironment('POWERTOOLS_SERVICE_NAME', props.serviceName);
    this.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', METRICS_NAMESPACE);
    this.addEnvironment('HEALTH_PORT', String(props.healthPort));
    for (const [key, value] of Object.entries(props.settings)) this.addEnvironment(key, value);
    props.bind(this);
    // The other tunables at their schema defaults, visible on the task definition.
    for (const key of deployedEnvKeys(props.envSchema)) {
      if (key in this.environment || key === 'RUNNER_SHARDS' || !hasFallback(props.envSchema, key)) continue;
      const value = (props.envSchema.shape[key] as z.ZodMiniType).parse(undefined);
      if (value !== undefined) this.addEnvironment(key, String(value));
    }

    const arm = props.architecture === 'arm64';
    const image = ContainerImage.fromAsset(REPO_ROOT, {
      file: 'session-runner/Dockerfile',
      exclude: RUNNER_IMAGE_EXCLUDES,
      platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
    });

    for (let index = 0; index < props.runnerCount; index++) {
      const taskDefinition = new FargateTaskDefinition(this, `Task${index}`, {
        cpu: props.cpu,
        memoryLimitMiB: props.memoryMiB,
        runtimePlatform: {
          cpuArchitecture: arm ? CpuArchitecture.ARM64 : CpuArchitecture.X86_64,
          operatingSystemFamily: OperatingSystemFamily.LINUX,
        },
        taskRole: this.taskRole,
        executionRole: this.executionRole,
      });
      taskDefinition.addContainer('Runner', {
        image,
        essential: true,
        environment: {
          ...this.environment,
          RUNNER_SHARDS: runnerShards(index, props.runnerCount, props.shardCount),
        },
        logging: LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: `runner-${index}` }),
        stopTimeout: RUNNER_STOP_TIMEOUT,
        // A real init as PID 1 forwards SIGTERM to node and reaps children.
        linuxParameters: new LinuxParameters(this, `Linux${index}`, { initProcessEnabled: true }),
        healthCheck: {
          // The image has node but no curl.
          command: [
            'CMD',
            'node',
            '-e',
            `fetch('http://localhost:${props.healthPort}/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ],
          interval: Duration.seconds(30),
          timeout: Duration.seconds(5),
          retries: 3,
          startPeriod: Duration.seconds(60),
        },
      });
      Validations.of(taskDefinition).acknowledge({
        id: 'AwsSolutions-ECS2',
        reason:
          'The environment holds only resource names, queue URLs and tunables (no secrets); the runner parses it with RunnerEnv at start.',
      });

      const service = new FargateService(this, `Service${index}`, {
        cluster: this.cluster,
        taskDefinition,
        desiredCount: 1,
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        circuitBreaker: { enable: true, rollback: true },
        availabilityZoneRebalancing: AvailabilityZoneRebalancing.DISABLED,
        platformVersion: FargatePlatformVersion.LATEST,
        vpcSubnets: props.subnets,
        assignPublicIp: props.assignPublicIp,
        securityGroups: [this.securityGroup],
        enableExecuteCommand: false,
      });
      this.services.push(service);
    }

    Validations.of(this.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken has no resource-level permissions; every other statement is scoped.',
    });

    const allowed = new Set([
      ...deployedEnvKeys(props.envSchema),
      ...RUNTIME_EXTRA_ENV_KEYS,
      'RUNNER_SHARDS',
    ]);
    const required = deployedEnvKeys(props.envSchema).filter((key) => !hasFallback(props.envSchema, key));
    this.node.addValidation({
      validate: () => [
        ...Object.keys(this.environment)
          .filter((key) => !allowed.has(key))
          .map((key) => `${key} is not read by the session runner`),
        ...required
          .filter((key) => !(key in this.environment))
          .map((key) => `${key} is required by the session runner`),
      ],
    });
  }

  get grantPrincipal(): IPrincipal {
    return this.taskRole;
  }

  /** The task role, to which bound resources' policies are attached. */
  get role(): Role {
    return this.taskRole;
  }

  addEnvironment(key: string, value: string): void {
    this.environment[key] = value;
  }
}
