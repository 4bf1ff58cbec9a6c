import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { AUTHORIZER_ENTRY, ROUTES, type RouteDefinition } from '#functions/http/routes.ts';
import { TABLES, type TableKey } from '#shared/adapters/table-definitions.ts';
import { RunnerEnv } from '#shared/config.ts';
import { AiWorker } from '../constructs/ai-worker.ts';
import type { AppFunction } from '../constructs/app-function.ts';
import {
  type BindingTarget,
  bindBucket,
  bindQueuesForConsuming,
  bindQueuesForSending,
  bindTable,
  type TableAccess,
} from '../constructs/bindings.ts';
import { GatewayHttpApi } from '../constructs/http-api.ts';
import { Network } from '../constructs/network.ts';
import { Observability } from '../constructs/observability.ts';
import type { QueuePair } from '../constructs/queues.ts';
import { SessionRunnerService } from '../constructs/session-runner-service.ts';
import { Webhooks } from '../constructs/webhooks.ts';
import { SERVICE_NAMES, schemaDefault } from '../runtime-env.ts';
import { allowedModelsOf, type StageConfig } from '../stage-config.ts';

/** Entry of the AI Lambda (issue 5). */
export const AI_ENTRY = 'functions/queues/incoming-ai.ts';

/** What the stateless stack uses from the stateful one. */
export interface StatefulResources {
  tables: Record<TableKey, ITable>;
  authStateBucket: IBucket;
  /** Read/write access to the auth state (objects, listing, KMS through S3). */
  authStatePolicy: IManagedPolicy;
  /** Read access to the tenants' files under `media/` of the same bucket (the media route). */
  mediaReadPolicy: IManagedPolicy;
  /** Read access plus the copy that records a file's sha256 (the route that describes a file). */
  mediaDescribePolicy: IManagedPolicy;
  /** Put access under `media/` (the upload route: reservations and presigned PUTs). */
  mediaUploadPolicy: IManagedPolicy;
  /** Command queues in shard order. */
  commandQueues: QueuePair[];
  incomingQueue: QueuePair;
  /** `COMMAND_QUEUE_URLS`: the command queue URLs, comma-separated in shard order. */
  commandQueueUrls: string;
  /** `webhook-deliveries.fifo` and its DLQ (events to tenants). */
  webhookDeliveries: QueuePair;
}

export interface StatelessStackProps extends StackProps {
  config: StageConfig;
  resources: StatefulResources;
  /** Defaults to ROUTES; tests may pass a subset. */
  routes?: RouteDefinition[];
}

/**
 * The code and what can be recreated at will: the HTTP API and its Lambdas, the AI Lambda, the
 * runner's VPC, cluster and services, alarms and dashboard.
 */
export class StatelessStack extends Stack {
  readonly httpApi: GatewayHttpApi;
  readonly aiWorker: AiWorker;
  readonly runner: SessionRunnerService;
  readonly network: Network;
  readonly observability: Observability;
  readonly webhooks: Webhooks;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, resources } = props;
    const logRetention = config.logRetentionDays as RetentionDays;
    const logRemovalPolicy =
      config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logs = { logRetention, logRemovalPolicy };

    const table = (target: BindingTarget, key: TableKey, access: TableAccess) =>
      bindTable(target, { definition: TABLES[key], table: resources.tables[key] }, access);
    const commandQueues = resources.commandQueues.map((pair) => pair.queue);
    const sendCommands = (target: BindingTarget) =>
      bindQueuesForSending(target, commandQueues, 'COMMAND_QUEUE_URLS', resources.commandQueueUrls);

    this.httpApi = new GatewayHttpApi(this, 'HttpApi', {
      routes: props.routes ?? ROUTES,
      authorizerEntry: AUTHORIZER_ENTRY,
      serviceNames: { api: SERVICE_NAMES.api, authorizer: SERVICE_NAMES.authorizer },
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      ...logs,
      bindAuthorizer: (fn) => table(fn, 'tenants', 'read'),
      // Each route gets exactly the resources its entry in the route table declares.
      bindRoute: (fn, route) => {
        for (const [key, access] of Object.entries(route.resources.tables) as [TableKey, TableAccess][]) {
          table(fn, key, access);
        }
        if (route.resources.commands === 'send') sendCommands(fn);
        if (route.resources.media === 'read') {
          bindBucket(fn, resources.authStateBucket, resources.mediaReadPolicy, 'AUTH_STATE_BUCKET');
        }
        if (route.resources.media === 'describe') {
          bindBucket(fn, resources.authStateBucket, resources.mediaDescribePolicy, 'AUTH_STATE_BUCKET');
        }
        if (route.resources.media === 'upload') {
          bindBucket(fn, resources.authStateBucket, resources.mediaUploadPolicy, 'AUTH_STATE_BUCKET');
        }
        if (route.resources.webhookDeliveries === 'send') {
          const { queue } = resources.webhookDeliveries;
          bindQueuesForSending(fn, [queue], 'WEBHOOK_DELIVERY_QUEUE_URL', queue.queueUrl);
        }
        fn.addEnvironment('SEND_RATE_PER_MINUTE', String(config.sendRatePerMinute));
        fn.addEnvironment('INIT_RATE_PER_MINUTE', String(config.initRatePerMinute));
        fn.addEnvironment('SESSIONS_PER_TENANT', String(config.sessionsPerTenant));
        fn.addEnvironment('ALLOWED_MODELS', allowedModelsOf(config).join(','));
      },
    });

    this.aiWorker = new AiWorker(this, 'AiWorker', {
      entry: AI_ENTRY,
      serviceName: SERVICE_NAMES.incomingAi,
      incomingQueue: resources.incomingQueue.queue,
      incomingVisibilityTimeout: Duration.seconds(
        resources.incomingQueue.definition.visibilityTimeoutSeconds,
      ),
      ai: config,
      ...logs,
      bind: (fn) => {
        table(fn, 'sessions', 'read');
        table(fn, 'messages', 'readWrite');
        table(fn, 'usage', 'readWrite');
        sendCommands(fn);
        fn.addEnvironment('AI_REPLIES_PER_DAY', String(config.aiRepliesPerDay));
        fn.addEnvironment('ALLOWED_MODELS', allowedModelsOf(config).join(','));
      },
    });

    this.network = new Network(this, 'Network', { vpc: config.vpc, ...logs });
    this.runner = new SessionRunnerService(this, 'SessionRunner', {
      vpc: this.network.vpc,
      subnets: this.network.taskSubnets,
      assignPublicIp: this.network.assignPublicIp,
      cpu: config.runnerCpu,
      memoryMiB: config.runnerMemoryMiB,
      architecture: config.runnerArchitecture,
      runnerCount: config.runnerCount,
      shardCount: config.shardCount,
      serviceName: SERVICE_NAMES.runner,
      envSchema: RunnerEnv,
      healthPort: Number(schemaDefault(RunnerEnv, 'HEALTH_PORT')),
      ...logs,
      settings: {
        SEND_MIN_INTERVAL_MS: String(config.sendMinIntervalMs),
        LOG_LEVEL: config.runnerLogLevel,
        ...(config.whatsappVersion ? { WHATSAPP_VERSION: config.whatsappVersion } : {}),
      },
      bind: (target) => {
        table(target, 'sessions', 'readWrite');
        table(target, 'messages', 'readWrite');
        table(target, 'leases', 'readWrite');
        bindBucket(target, resources.authStateBucket, resources.authStatePolicy, 'AUTH_STATE_BUCKET');
        bindQueuesForConsuming(target, commandQueues, 'COMMAND_QUEUE_URLS', resources.commandQueueUrls);
        // The send sweeper enqueues again a send that never left (send-sweeper.ts).
        for (const queue of commandQueues) queue.grantSendMessages(target);
        // A malformed command is moved to its queue's DLQ by the runner itself (command-consumer.ts).
        for (const pair of resources.commandQueues) pair.deadLetterQueue.grantSendMessages(target);
        bindQueuesForSending(
          target,
          [resources.incomingQueue.queue],
          'INCOMING_QUEUE_URL',
          resources.incomingQueue.queue.queueUrl,
        );
      },
    });

    this.webhooks = new Webhooks(this, 'Webhooks', {
      deliveries: resources.webhookDeliveries,
      sourceTables: [resources.tables.sessions, resources.tables.messages],
      serviceName: 'webhooks',
      ...logs,
      bindFanout: (fn) => {
        table(fn, 'sessions', 'read');
        table(fn, 'webhooks', 'readWrite');
      },
      bindDelivery: (fn) => table(fn, 'webhooks', 'readWrite'),
    });

    const functions: { name: string; fn: AppFunction }[] = [
      { name: 'Authorizer', fn: this.httpApi.authorizer },
      ...[...this.httpApi.routeFunctions].map(([name, fn]) => ({ name, fn })),
      { name: 'IncomingAi', fn: this.aiWorker.handler },
      { name: 'WebhookFanout', fn: this.webhooks.fanout },
      { name: 'WebhookDelivery', fn: this.webhooks.delivery },
    ];
    this.observability = new Observability(this, 'Observability', {
      stage: config.stage,
      alarmEmail: config.alarmEmail,
      keyRemovalPolicy: logRemovalPolicy,
      queues: [...resources.commandQueues, resources.incomingQueue],
      functions,
      api: this.httpApi.api,
      runnerServiceName: SERVICE_NAMES.runner,
      runnerServices: this.runner.services,
      heartbeatIntervalMs: Number(schemaDefault(RunnerEnv, 'HEARTBEAT_MS')),
    });
    this.webhooks.notify(this.observability.topic);

    new CfnOutput(this, 'ApiUrl', {
      value: this.httpApi.url,
      description: 'Base URL of the tenant API (the CloudFront door)',
    });
    new CfnOutput(this, 'ExecuteApiUrl', {
      value: this.httpApi.executeApiUrl,
      description: 'The HTTP API itself, behind the door: it takes the key in x-api-key only',
    });
    new CfnOutput(this, 'ClusterName', { value: this.runner.cluster.clusterName });
    this.runner.services.forEach((svc, index) => {
      new CfnOutput(this, `RunnerService${index}Name`, { value: svc.serviceName });
    });
    new CfnOutput(this, 'RunnerLogGroupName', { value: this.runner.logGroup.logGroupName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
  }
}
