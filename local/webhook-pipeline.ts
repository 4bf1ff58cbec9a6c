import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { buildDeliveryDeps, buildFanoutDeps, logger } from '#functions/queues/webhook-composition-root.ts';
import { createDeliveryHandler } from '#functions/queues/webhook-delivery.ts';
import { createFanoutHandler } from '#functions/queues/webhook-fanout.ts';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { loadConfig } from '#shared/config.ts';
import type { AddressResolver } from '#shared/ports/address-resolver.ts';
import type { WebhookSender } from '#shared/ports/webhook-delivery.ts';
import { WebhookDeliveryEnv, WebhookFanoutEnv } from '#shared/webhook-config.ts';
import { startSqsEventSource } from './event-source.ts';
import { startStreamPoller } from './stream-poller.ts';

export interface WebhookPipelineOptions {
  /** The stack's env: endpoints, table names, queue URLs. */
  env: Record<string, string | undefined>;
  /** Test seams: the resolver and sender the delivery uses (the system's by default). */
  resolver?: AddressResolver;
  sender?: WebhookSender;
  onError?: (where: string, error: unknown) => void;
}

/**
 * Events to tenants on one machine, with the Lambda code of AWS: a stream poller per source table
 * (sessions, messages) feeding the fan-out handler, and an SQS poller feeding the delivery handler.
 * Loopback receivers are allowed (WEBHOOK_ALLOW_LOOPBACK, default true here). Answers a stop function.
 */
export const startWebhookPipeline = async (options: WebhookPipelineOptions): Promise<() => Promise<void>> => {
  const env: Record<string, string | undefined> = { WEBHOOK_ALLOW_LOOPBACK: 'true', ...options.env };
  // The handlers' logger was built when its module was imported, before the stack chose the level
  // (WARN by default): without this, `npm start` printed a JSON line for every stream batch.
  const level = env.POWERTOOLS_LOG_LEVEL ?? process.env.POWERTOOLS_LOG_LEVEL;
  if (level) logger.setLogLevel(level as Parameters<typeof logger.setLogLevel>[0]);
  const fanoutConfig = loadConfig(WebhookFanoutEnv, env);
  const deliveryConfig = loadConfig(WebhookDeliveryEnv, env);
  // Each handler's calls are recorded as its deployed component's (the IAM conformance check).
  const clients = createAwsClients(fanoutConfig, { component: 'webhook-fanout' });
  const deliveryClients = createAwsClients(deliveryConfig, { component: 'webhook-delivery' });
  const dynamo = new DynamoDBClient({ endpoint: fanoutConfig.DYNAMODB_ENDPOINT });
  const streams = new DynamoDBStreamsClient({ endpoint: fanoutConfig.DYNAMODB_ENDPOINT });
  const onError = (where: string) => (error: unknown) => options.onError?.(where, error);

  const fanout = createFanoutHandler(() => buildFanoutDeps(fanoutConfig, clients));
  const deliveryDeps = {
    ...buildDeliveryDeps(deliveryConfig, deliveryClients),
    ...(options.resolver && { resolver: options.resolver }),
    ...(options.sender && { sender: options.sender }),
  };
  const stops: (() => Promise<void>)[] = [];
  try {
    for (const table of [fanoutConfig.SESSIONS_TABLE, env.MESSAGES_TABLE]) {
      if (!table) continue;
      const poller = await startStreamPoller({
        dynamo,
        streams,
        tableName: table,
        handler: fanout,
        onError: onError(`stream ${table}`),
      });
      stops.push(() => poller.stop());
    }
    const delivery = await startSqsEventSource({
      sqs: deliveryClients.sqs,
      queueUrl: deliveryConfig.WEBHOOK_DELIVERY_QUEUE_URL,
      component: 'webhook-delivery',
      handler: createDeliveryHandler(() => deliveryDeps),
      functionName: 'webhook-delivery',
      functionTimeoutMs: 120_000,
      waitSeconds: 1,
      onError: onError('webhook-delivery poller'),
    });
    stops.push(() => delivery.stop());
  } catch (error) {
    await Promise.all(stops.map((stop) => stop()));
    throw error;
  }
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
    dynamo.destroy();
    streams.destroy();
    for (const c of [clients, deliveryClients]) {
      c.dynamo.destroy();
      c.sqs.destroy();
      c.s3.destroy();
    }
  };
};
