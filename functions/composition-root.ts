import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoChatbotStore } from '#shared/adapters/dynamodb-chatbot-store.ts';
import { createDynamoClient } from '#shared/adapters/dynamodb-client.ts';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { DynamoIdempotencyStore } from '#shared/adapters/dynamodb-idempotency-store.ts';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoRateLimiter } from '#shared/adapters/dynamodb-rate-limiter.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { DynamoUsageStore } from '#shared/adapters/dynamodb-usage-store.ts';
import { DynamoDeliveryLog, DynamoWebhookEndpointStore } from '#shared/adapters/dynamodb-webhook-stores.ts';
import { systemAddressResolver } from '#shared/adapters/node-webhook-sender.ts';
import { type ApiConfig, AuthorizerEnv, loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { systemClock } from '#shared/ports/clock.ts';
import type { CommandPublisher } from '#shared/ports/command-publisher.ts';
import type { TenantStore } from '#shared/ports/tenant-store.ts';
import type { WebhookJobQueue } from '#shared/ports/webhook-delivery.ts';
import type { GatewayDeps } from '#shared/use-cases/deps.ts';
import type { WebhookDeps } from '#shared/use-cases/webhooks.ts';

// The Lambda composition root: configuration parsed and clients built once per container (cold
// start), on first use, so that importing a handler module has no side effects. Each function
// builds only the clients it uses (a route's come from route-deps.ts), so its bundle carries no
// other SDK client.

export const logger = createLogger('whatsapp-gateway-api');

let tenants: TenantStore | undefined;

/** A port on a table the route does not declare: any use of it is a bug, refused. */
const undeclaredPort = <T>(port: string): T =>
  new Proxy({} as object, {
    get: (_target, key) => {
      // Not a method call: what a runtime or a test runner probes on any object (`then`, symbols).
      if (typeof key !== 'string' || key === 'then') return undefined;
      throw new Error(`The ${port} port's table is not declared by this route`);
    },
  }) as T;

/** Builds the tenant API's ports on the given DynamoDB client and command publisher. */
export const buildGatewayDeps = (
  config: ApiConfig,
  dynamo: DynamoDBDocumentClient,
  commands: CommandPublisher,
): GatewayDeps => {
  const table = (name: string) => new DynamoTable(dynamo, name);
  // `process.env.BUNDLE_WITHOUT_<TABLE>` is 'true' in the bundle of a route that does not declare
  // that table (infra/constructs/app-function.ts): the condition folds and the store's adapter
  // stays out of the bundle. Unbundled, every store is built (an undeclared table has a name that
  // exists nowhere, see route-deps.ts).
  return {
    tenants:
      process.env.BUNDLE_WITHOUT_TENANTS_TABLE === 'true'
        ? undeclaredPort('tenants')
        : new DynamoTenantStore(table(config.TENANTS_TABLE)),
    chatbots: new DynamoChatbotStore(table(config.SESSIONS_TABLE)),
    sessions: new DynamoSessionStore(table(config.SESSIONS_TABLE)),
    messages:
      process.env.BUNDLE_WITHOUT_MESSAGES_TABLE === 'true'
        ? undeclaredPort('messages')
        : new DynamoMessageStore(table(config.MESSAGES_TABLE)),
    conversations:
      process.env.BUNDLE_WITHOUT_MESSAGES_TABLE === 'true'
        ? undeclaredPort('conversations')
        : new DynamoConversationStore(dynamo, { messages: config.MESSAGES_TABLE, usage: config.USAGE_TABLE }),
    usage:
      process.env.BUNDLE_WITHOUT_USAGE_TABLE === 'true'
        ? undeclaredPort('usage')
        : new DynamoUsageStore(table(config.USAGE_TABLE)),
    idempotency:
      process.env.BUNDLE_WITHOUT_REQUESTS_TABLE === 'true'
        ? undeclaredPort('idempotency')
        : new DynamoIdempotencyStore(table(config.REQUESTS_TABLE)),
    sendRate: { limit: config.SEND_RATE_PER_MINUTE, windowSeconds: 60 },
    // Counted in the Sessions table, which init writes anyway (no further grant for the route).
    initRate: new DynamoRateLimiter(table(config.SESSIONS_TABLE), {
      limit: config.INIT_RATE_PER_MINUTE,
      windowSeconds: 60,
      key: (tenantId) => ({ pk: `LIMIT#init#${tenantId}` }),
    }),
    sessionCap: new DynamoRateLimiter(table(config.SESSIONS_TABLE), {
      limit: config.SESSIONS_PER_TENANT,
      key: (tenantId) => ({ pk: `LIMIT#sessions#${tenantId}` }),
    }),
    allowedModels: config.ALLOWED_MODELS,
    commands,
    leases:
      process.env.BUNDLE_WITHOUT_LEASES_TABLE === 'true'
        ? undeclaredPort('leases')
        : new DynamoLeaseStore(table(config.LEASES_TABLE)),
    clock: systemClock,
    shardCount: config.COMMAND_QUEUE_URLS.length,
  };
};

/** Builds the webhook routes' ports on the given DynamoDB client and delivery job queue. */
export const buildWebhookDeps = (
  config: ApiConfig,
  dynamo: DynamoDBDocumentClient,
  jobs: WebhookJobQueue,
): WebhookDeps => {
  const webhooks = new DynamoTable(dynamo, config.WEBHOOKS_TABLE);
  return {
    endpoints: new DynamoWebhookEndpointStore(webhooks),
    deliveries: new DynamoDeliveryLog(webhooks),
    jobs,
    resolver: systemAddressResolver,
    clock: systemClock,
    urlOptions: { allowLoopback: config.WEBHOOK_ALLOW_LOOPBACK },
  };
};

export const authorizerTenants = (): TenantStore => {
  if (!tenants) {
    const config = loadConfig(AuthorizerEnv);
    tenants = new DynamoTenantStore(new DynamoTable(createDynamoClient(config), config.TENANTS_TABLE));
  }
  return tenants;
};
