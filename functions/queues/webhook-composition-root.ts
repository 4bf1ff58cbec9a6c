import { createDynamoAndSqsClients, type DynamoAndSqsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoDeliveryLog, DynamoWebhookEndpointStore } from '#shared/adapters/dynamodb-webhook-stores.ts';
import { NodeWebhookSender, systemAddressResolver } from '#shared/adapters/node-webhook-sender.ts';
import { SqsWebhookJobQueue } from '#shared/adapters/sqs-webhook-job-queue.ts';
import { loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { systemClock } from '#shared/ports/clock.ts';
import type { WebhookJobControl } from '#shared/ports/webhook-delivery.ts';
import type { DeliveryDeps } from '#shared/use-cases/webhook-delivery.ts';
import type { FanoutDeps } from '#shared/use-cases/webhook-fanout.ts';
import {
  type WebhookDeliveryConfig,
  WebhookDeliveryEnv,
  type WebhookFanoutConfig,
  WebhookFanoutEnv,
} from '#shared/webhook-config.ts';

// The webhook Lambdas' composition root: configuration parsed and clients built once per
// container, on first use, so that importing a handler has no side effects.

export const logger = createLogger('whatsapp-gateway-webhooks');

/** The fan-out's ports on the given clients. */
export const buildFanoutDeps = (config: WebhookFanoutConfig, aws: DynamoAndSqsClients): FanoutDeps => {
  const webhooks = new DynamoTable(aws.dynamo, config.WEBHOOKS_TABLE);
  return {
    endpoints: new DynamoWebhookEndpointStore(webhooks),
    deliveries: new DynamoDeliveryLog(webhooks),
    sessions: new DynamoSessionStore(new DynamoTable(aws.dynamo, config.SESSIONS_TABLE)),
    jobs: new SqsWebhookJobQueue(aws.sqs, config.WEBHOOK_DELIVERY_QUEUE_URL),
    clock: systemClock,
  };
};

export type DeliveryHandlerDeps = DeliveryDeps & { control: WebhookJobControl };

/** The delivery's ports on the given clients. */
export const buildDeliveryDeps = (
  config: WebhookDeliveryConfig,
  aws: DynamoAndSqsClients,
): DeliveryHandlerDeps => {
  const webhooks = new DynamoTable(aws.dynamo, config.WEBHOOKS_TABLE);
  return {
    endpoints: new DynamoWebhookEndpointStore(webhooks),
    deliveries: new DynamoDeliveryLog(webhooks),
    resolver: systemAddressResolver,
    sender: new NodeWebhookSender(),
    clock: systemClock,
    urlOptions: { allowLoopback: config.WEBHOOK_ALLOW_LOOPBACK },
    firstRetrySeconds: config.WEBHOOK_FIRST_RETRY_SECONDS,
    settleMs: config.WEBHOOK_SETTLE_MS,
    control: new SqsWebhookJobQueue(
      aws.sqs,
      config.WEBHOOK_DELIVERY_QUEUE_URL,
      config.WEBHOOK_DELIVERY_DLQ_URL,
    ),
  };
};

let fanout: FanoutDeps | undefined;
let delivery: DeliveryHandlerDeps | undefined;

export const fanoutDeps = (): FanoutDeps => {
  if (!fanout) {
    const config = loadConfig(WebhookFanoutEnv);
    fanout = buildFanoutDeps(config, createDynamoAndSqsClients(config, { component: 'webhook-fanout' }));
  }
  return fanout;
};

export const deliveryDeps = (): DeliveryHandlerDeps => {
  if (!delivery) {
    const config = loadConfig(WebhookDeliveryEnv);
    delivery = buildDeliveryDeps(
      config,
      createDynamoAndSqsClients(config, { component: 'webhook-delivery' }),
    );
  }
  return delivery;
};
