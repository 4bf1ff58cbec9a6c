import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { FilterPattern, MetricFilter, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { DeduplicationScope, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  deadLetterName,
  WEBHOOK_DELIVERY_QUEUE,
  WEBHOOK_DELIVERY_RETENTION_SECONDS,
} from '#shared/adapters/queue-definitions.ts';
import { WebhookDeliveryEnv, WebhookFanoutEnv } from '#shared/webhook-config.ts';
import { AppFunction } from './app-function.ts';
import type { QueuePair } from './queues.ts';

/** Entries of the webhook Lambdas. */
export const WEBHOOK_FANOUT_ENTRY = 'functions/queues/webhook-fanout.ts';
export const WEBHOOK_DELIVERY_ENTRY = 'functions/queues/webhook-delivery.ts';
export const WEBHOOK_METRICS_NAMESPACE = 'WhatsAppGateway/Webhooks';

export interface WebhookQueuesProps {
  namePrefix: string;
  removalPolicy: RemovalPolicy;
}

/**
 * `webhook-deliveries.fifo` and its dead-letter queue (stateful). Retention is the SQS maximum:
 * a job may wait behind a failing one of its group, and the delivery gives up before retention ends.
 */
export class WebhookQueues extends Construct {
  readonly pair: QueuePair;

  constructor(scope: Construct, id: string, props: WebhookQueuesProps) {
    super(scope, id);
    const definition = WEBHOOK_DELIVERY_QUEUE;
    const common = {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.QUEUE,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
      retentionPeriod: Duration.seconds(WEBHOOK_DELIVERY_RETENTION_SECONDS),
    };
    const deadLetterQueue = new Queue(this, 'DeadLetter', {
      ...common,
      queueName: `${props.namePrefix}${deadLetterName(definition)}.fifo`,
    });
    const queue = new Queue(this, 'Queue', {
      ...common,
      queueName: `${props.namePrefix}${definition.name}.fifo`,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
    });
    this.pair = { definition, queue, deadLetterQueue };
  }
}

export interface WebhooksProps {
  deliveries: QueuePair;
  /** Tables whose streams produce events (sessions, messages). */
  sourceTables: ITable[];
  serviceName: string;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** Gives the fan-out the tables WebhookFanoutEnv names (sessions read, webhooks read/write). */
  bindFanout: (fn: AppFunction) => void;
  /** Gives the delivery the webhooks table (read/write). */
  bindDelivery: (fn: AppFunction) => void;
}

/**
 * Events to tenants: the fan-out Lambda on the sessions and messages table streams (one job per
 * matching endpoint to `webhook-deliveries.fifo`), and the delivery Lambda on that queue
 * (partial batch failures; it schedules its own retries with ChangeMessageVisibility). Alarms on
 * deliveries given up and on dead letters.
 */
export class Webhooks extends Construct {
  readonly fanout: AppFunction;
  readonly delivery: AppFunction;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const { queue, deadLetterQueue, definition } = props.deliveries;
    const logs = { logRetention: props.logRetention, logRemovalPolicy: props.logRemovalPolicy };

    this.fanout = new AppFunction(this, 'Fanout', {
      entry: WEBHOOK_FANOUT_ENTRY,
      description: 'WhatsApp gateway: stored changes to webhook delivery jobs',
      serviceName: `${props.serviceName}-fanout`,
      envSchema: WebhookFanoutEnv,
      timeout: Duration.seconds(60),
      ...logs,
    });
    props.bindFanout(this.fanout);
    queue.grantSendMessages(this.fanout);
    this.fanout.addEnvironment('WEBHOOK_DELIVERY_QUEUE_URL', queue.queueUrl);
    for (const table of props.sourceTables) {
      this.fanout.function.addEventSource(
        new DynamoEventSource(table, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: 100,
          maxBatchingWindow: Duration.seconds(1),
          reportBatchItemFailures: true,
          // A batch that keeps failing is retried for the stream's 24 h, never skipped sooner.
          retryAttempts: -1,
        }),
      );
    }

    this.delivery = new AppFunction(this, 'Delivery', {
      entry: WEBHOOK_DELIVERY_ENTRY,
      description: 'WhatsApp gateway: signed webhook deliveries with retries',
      serviceName: `${props.serviceName}-delivery`,
      envSchema: WebhookDeliveryEnv,
      // Groups run in parallel, each record at most 10 s; the handler hands back what it has no time for.
      timeout: Duration.seconds(120),
      ...logs,
    });
    props.bindDelivery(this.delivery);
    queue.grantConsumeMessages(this.delivery); // includes ChangeMessageVisibility
    deadLetterQueue.grantSendMessages(this.delivery); // invalid jobs are moved by the handler
    this.delivery.addEnvironment('WEBHOOK_DELIVERY_QUEUE_URL', queue.queueUrl);
    this.delivery.addEnvironment('WEBHOOK_DELIVERY_DLQ_URL', deadLetterQueue.queueUrl);
    this.delivery.addSchemaDefaults(); // WEBHOOK_ALLOW_LOOPBACK=false: never loopback in AWS
    this.delivery.function.addEventSource(
      new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    Validations.of(this.fanout.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, granted by the CDK DynamoDB event source for the stream mapping, has no resource-level permissions.',
    });

    const failed = new MetricFilter(this, 'FailedDeliveries', {
      logGroup: this.delivery.logGroup,
      metricNamespace: WEBHOOK_METRICS_NAMESPACE,
      metricName: 'DeliveriesFailed',
      filterPattern: FilterPattern.stringValue('$.message', '=', 'webhook delivery failed for good'),
      metricValue: '1',
      defaultValue: 0,
    });
    this.alarm('DeliveriesFailed', {
      metric: failed.metric({ statistic: 'Sum', period: Duration.minutes(5) }),
      description:
        'Webhook deliveries given up after 24 h of retries: a tenant endpoint is down (see deliveries).',
    });
    this.alarm('DeliveryDeadLetters', {
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      description: `Jobs in the ${definition.name} dead-letter queue: invalid jobs, see the delivery logs.`,
    });
    this.alarm('FanoutBehind', {
      metric: this.fanout.function.metric('IteratorAge', {
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: Duration.minutes(5).toMilliseconds(),
      description:
        'The webhook fan-out lags the table streams by over 5 minutes: events to tenants are late.',
    });
  }

  /** Sends the alarms and their recoveries to the stage's alarm topic. */
  notify(topic: ITopic): void {
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(new SnsAction(topic));
      alarm.addOkAction(new SnsAction(topic));
    }
  }

  private alarm(id: string, options: { metric: IMetric; description: string; threshold?: number }) {
    this.alarms.push(
      new Alarm(this, `${id}Alarm`, {
        metric: options.metric,
        threshold: options.threshold ?? 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: options.description,
      }),
    );
  }
}
