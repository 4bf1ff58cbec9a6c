import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient } from '#shared/adapters/dynamodb-client.ts';
import { createSqsClient } from '#shared/adapters/sqs-client.ts';
import { SqsCommandPublisher } from '#shared/adapters/sqs-command-publisher.ts';
import { SqsWebhookJobQueue } from '#shared/adapters/sqs-webhook-job-queue.ts';
import { type ApiConfig, loadConfig } from '#shared/config.ts';
import type { CommandPublisher } from '#shared/ports/command-publisher.ts';
import type { WebhookJobQueue } from '#shared/ports/webhook-delivery.ts';
import type { GatewayDeps } from '#shared/use-cases/deps.ts';
import type { WebhookDeps } from '#shared/use-cases/webhooks.ts';
import { buildGatewayDeps, buildWebhookDeps } from '../composition-root.ts';
import { routeEnv, undeclaredEnvKeys } from './route-env.ts';
import type { RouteDefinition } from './routes.ts';

// A route's ports, built once per container from its own env (see route-env.ts). A resource the
// route did not declare gets a name that exists nowhere, so touching it fails loudly in every
// environment (in AWS the role would refuse it anyway), instead of working locally only.

const UNDECLARED = 'undeclared-by-this-route';
let dynamo: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;
const configs = new Map<string, ApiConfig>();
const built = new Map<string, GatewayDeps>();
const builtWebhooks = new Map<string, WebhookDeps>();

/** What an undeclared key is set to: a name that exists nowhere, or the safe value of a setting. */
const placeholderOf = (key: string): unknown => {
  if (key === 'COMMAND_QUEUE_URLS') return [`https://${UNDECLARED}.invalid/commands`];
  if (key === 'WEBHOOK_DELIVERY_QUEUE_URL') return `https://${UNDECLARED}.invalid/webhook-deliveries`;
  if (key === 'WEBHOOK_ALLOW_LOOPBACK') return false;
  return UNDECLARED;
};

/** The route's configuration: its env parsed once, undeclared resources set to placeholders. */
const routeConfig = (route: RouteDefinition): ApiConfig => {
  let config = configs.get(route.id);
  if (!config) {
    const parsed = loadConfig(routeEnv(route)) as Partial<ApiConfig>;
    const placeholders = Object.fromEntries(undeclaredEnvKeys(route).map((key) => [key, placeholderOf(key)]));
    config = { ...placeholders, ...parsed } as ApiConfig;
    configs.set(route.id, config);
  }
  return config;
};

/** Publishing from a route that declares no command queue: a bug, refused like an undeclared table. */
const undeclaredCommands: CommandPublisher = {
  publish: async () => {
    throw new Error(`The command queues are ${UNDECLARED}`);
  },
};

/** Queueing a delivery from a route that does not declare the webhook-deliveries queue: a bug. */
const undeclaredWebhookJobs: WebhookJobQueue = {
  enqueue: async () => {
    throw new Error(`The webhook-deliveries queue is ${UNDECLARED}`);
  },
};

const sqsClient = (config: ApiConfig): SQSClient => {
  sqs ??= createSqsClient(config);
  return sqs;
};

// `process.env.BUNDLE_WITHOUT_SQS` is replaced at bundle time (infra/constructs/app-function.ts):
// 'true' in a Lambda that is given no queue URL, so that esbuild folds these conditions and leaves
// the SQS client out of the bundle. Unbundled (tests, the local stack) the route's declaration decides.
const commandsOf = (route: RouteDefinition, config: ApiConfig): CommandPublisher =>
  process.env.BUNDLE_WITHOUT_SQS !== 'true' && route.resources.commands === 'send'
    ? new SqsCommandPublisher(sqsClient(config), config.COMMAND_QUEUE_URLS)
    : undeclaredCommands;

const webhookJobsOf = (route: RouteDefinition, config: ApiConfig): WebhookJobQueue =>
  process.env.BUNDLE_WITHOUT_SQS !== 'true' && route.resources.webhookDeliveries === 'send'
    ? new SqsWebhookJobQueue(sqsClient(config), config.WEBHOOK_DELIVERY_QUEUE_URL)
    : undeclaredWebhookJobs;

/**
 * The ports of a route that declares no table (the media link, the OpenAPI document): each one
 * refuses, as an undeclared table would. Its Lambda is given no table (and no SQS queue either).
 */
const tablelessDeps = (route: RouteDefinition): GatewayDeps =>
  new Proxy({} as GatewayDeps, {
    get: (_target, port) => {
      // Not a port: what a runtime or a test runner probes on any object (`then`, symbols).
      if (typeof port !== 'string' || port === 'then') return undefined;
      throw new Error(`Route ${route.id} declares no table: its ${port} port is ${UNDECLARED}`);
    },
  });

/** The ports of a route that declares tables, built once per container. */
const tableDeps = (route: RouteDefinition): GatewayDeps => {
  let deps = built.get(route.id);
  if (!deps) {
    const config = routeConfig(route);
    dynamo ??= createDynamoClient(config);
    deps = buildGatewayDeps(config, dynamo, commandsOf(route, config));
    built.set(route.id, deps);
  }
  return deps;
};

/** The tenant API's ports as the route's Lambda has them: only its declared resources work. */
export const routeDeps = (route: RouteDefinition): GatewayDeps =>
  // `process.env.BUNDLE_WITHOUT_DYNAMODB` is 'true' in a Lambda given no table (app-function.ts):
  // the condition folds at bundle time and tableDeps, with the DynamoDB client and the adapters,
  // stays out of its bundle (a conditional expression: esbuild drops only what nothing references).
  process.env.BUNDLE_WITHOUT_DYNAMODB === 'true' || Object.keys(route.resources.tables).length === 0
    ? tablelessDeps(route)
    : tableDeps(route);

/**
 * The webhook ports of a webhook route, built on its first call only (routes that do not manage
 * webhooks never build them); like routeDeps, only the declared resources work.
 */
export const webhookDeps = (route: RouteDefinition): WebhookDeps => {
  let deps = builtWebhooks.get(route.id);
  if (!deps) {
    const config = routeConfig(route);
    dynamo ??= createDynamoClient(config);
    deps = buildWebhookDeps(config, dynamo, webhookJobsOf(route, config));
    builtWebhooks.set(route.id, deps);
  }
  return deps;
};
