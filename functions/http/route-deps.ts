import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient } from '#shared/adapters/dynamodb-client.ts';
import { createSqsClient } from '#shared/adapters/sqs-client.ts';
import { SqsCommandPublisher } from '#shared/adapters/sqs-command-publisher.ts';
import { type ApiConfig, loadConfig } from '#shared/config.ts';
import type { CommandPublisher } from '#shared/ports/command-publisher.ts';
import type { GatewayDeps } from '#shared/use-cases/deps.ts';
import { buildGatewayDeps } from '../composition-root.ts';
import { routeEnv, undeclaredEnvKeys } from './route-env.ts';
import type { RouteDefinition } from './routes.ts';

// A route's ports, built once per container from its own env (see route-env.ts). A resource the
// route did not declare gets a name that exists nowhere, so touching it fails loudly in every
// environment (in AWS the role would refuse it anyway), instead of working locally only.

const UNDECLARED = 'undeclared-by-this-route';
let dynamo: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;
const built = new Map<string, GatewayDeps>();

/** Publishing from a route that declares no command queue: a bug, refused like an undeclared table. */
const undeclaredCommands: CommandPublisher = {
  publish: async () => {
    throw new Error(`The command queues are ${UNDECLARED}`);
  },
};

const sqsCommands = (config: ApiConfig): CommandPublisher => {
  sqs ??= createSqsClient(config);
  return new SqsCommandPublisher(sqs, config.COMMAND_QUEUE_URLS);
};

// `process.env.BUNDLE_WITHOUT_SQS` is replaced at bundle time (infra/constructs/app-function.ts):
// 'true' in a Lambda that is given no queue URL, so that esbuild folds this condition and leaves
// the SQS client out of the bundle. Unbundled (tests, the local stack) the route's declaration decides.
const commandsOf = (route: RouteDefinition, config: ApiConfig): CommandPublisher =>
  process.env.BUNDLE_WITHOUT_SQS !== 'true' && route.resources.commands === 'send'
    ? sqsCommands(config)
    : undeclaredCommands;

/** The tenant API's ports as the route's Lambda has them: only its declared resources work. */
export const routeDeps = (route: RouteDefinition): GatewayDeps => {
  let deps = built.get(route.id);
  if (!deps) {
    const config = loadConfig(routeEnv(route)) as Partial<ApiConfig>;
    const placeholders = Object.fromEntries(
      undeclaredEnvKeys(route).map((key) => [
        key,
        key === 'COMMAND_QUEUE_URLS' ? [`https://${UNDECLARED}.invalid/commands`] : UNDECLARED,
      ]),
    );
    const full = { ...placeholders, ...config } as ApiConfig;
    dynamo ??= createDynamoClient(config);
    deps = buildGatewayDeps(full, dynamo, commandsOf(route, full));
    built.set(route.id, deps);
  }
  return deps;
};
