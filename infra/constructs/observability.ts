import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { FargateService } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { RunnerMetric } from '#runner/metrics.ts';
import { METRICS_NAMESPACE } from '../runtime-env.ts';
import type { AppFunction } from './app-function.ts';
import type { QueuePair } from './queues.ts';

/** The EMF metrics the runner emits (namespace WhatsAppGateway, dimension `service` only). */
export const RUNNER_METRICS = {
  heartbeat: 'RunnerHeartbeat',
  leaseLost: 'LeaseLost',
  disconnect440: 'Disconnect440',
  disconnect401: 'Disconnect401',
  commandsFailed: 'CommandsFailed',
  incomingSpooled: 'IncomingSpooled',
  incomingRedriven: 'IncomingRedriven',
  incomingDropped: 'IncomingDropped',
  sendsResent: 'SendsResent',
  sendsGivenUp: 'SendsGivenUp',
} as const satisfies Record<string, RunnerMetric>;

export interface ObservabilityProps {
  /** Stage name, shown in alarm descriptions and the dashboard title. */
  stage: string;
  alarmEmail?: string;
  keyRemovalPolicy: RemovalPolicy;
  queues: QueuePair[];
  functions: { name: string; fn: AppFunction }[];
  api: HttpApi;
  runnerServiceName: string;
  runnerServices: FargateService[];
  /** How often each runner emits RunnerHeartbeat (its HEARTBEAT_MS). */
  heartbeatIntervalMs: number;
  /** Seconds the oldest message of a source queue may wait before it pages. */
  maxMessageAgeSeconds?: number;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms to one encrypted SNS topic (optionally mailed), and one dashboard: dead letters, stuck
 * queues, the runner's heartbeat and memory, lost leases, 440 / 401 disconnect rates, failed
 * commands, spooled and dropped incoming messages, Lambda errors and throttles, API 5xx. Each alarm's description says what to do.
 */
export class Observability extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const key = new Key(this, 'TopicKey', {
      description: 'WhatsApp gateway: alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.keyRemovalPolicy,
    });
    // CloudWatch publishes alarms into the encrypted topic; AWS managed SNS keys would refuse it.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `WhatsApp gateway ${props.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);

    const runnerMetric = (metricName: string, period = FIVE_MINUTES) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.runnerServiceName },
        statistic: 'Sum',
        period,
      });

    // Queues: any dead letter pages; so does a source queue whose oldest message waits too long.
    const maxAge = props.maxMessageAgeSeconds ?? 300;
    for (const { queue, deadLetterQueue, definition } of props.queues) {
      this.alarm(`${queue.node.id}DeadLetters`, {
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        description: `Messages in the ${definition.name} dead-letter queue: see the runbook "A growing DLQ".`,
      });
      this.alarm(`${queue.node.id}OldestMessage`, {
        metric: queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' }),
        threshold: maxAge,
        description: `The oldest message of ${definition.name} waits over ${maxAge} s: is its consumer running?`,
      });
    }

    // Runner: each runner beats every heartbeatIntervalMs; missing data means no runner at all.
    // Paging when about half of one runner's beats are missing for 10 minutes catches a dead or
    // hung runner, but not the minute of downtime of a deployment.
    const beatsPerRunner = FIVE_MINUTES.toMilliseconds() / props.heartbeatIntervalMs;
    this.alarm('RunnerHeartbeatMissing', {
      metric: runnerMetric(RUNNER_METRICS.heartbeat),
      threshold: Math.ceil(props.runnerServices.length * beatsPerRunner - beatsPerRunner / 2),
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: TreatMissingData.BREACHING,
      description: 'Session runner heartbeats are missing for 10 minutes: a runner is down or hung.',
    });
    props.runnerServices.forEach((service, index) => {
      this.alarm(`Runner${index}Memory`, {
        metric: service.metricMemoryUtilization({ period: FIVE_MINUTES, statistic: 'Maximum' }),
        threshold: 85,
        evaluationPeriods: 3,
        description: `Session runner ${index} uses over 85 % of its memory: raise runnerMemoryMiB or add shards and runners.`,
      });
    });
    this.alarm('LeaseLost', {
      metric: runnerMetric(RUNNER_METRICS.leaseLost),
      threshold: 1,
      description: 'A runner lost a shard lease: see the runbook "A lost lease".',
    });
    this.alarm('Disconnect440', {
      metric: runnerMetric(RUNNER_METRICS.disconnect440),
      threshold: 1,
      description: 'A WhatsApp connection was replaced (440): two clients use one session. See the runbook.',
    });
    this.alarm('Disconnect401', {
      metric: runnerMetric(RUNNER_METRICS.disconnect401, Duration.minutes(15)),
      threshold: 5,
      description:
        'Five or more sessions were logged out (401) in 15 minutes: see the runbook "A banned number".',
    });
    this.alarm('CommandsFailed', {
      metric: runnerMetric(RUNNER_METRICS.commandsFailed),
      threshold: 5,
      description: 'The runner failed five or more commands in 5 minutes: check its logs.',
    });

    // Incoming messages: spooled ones are safe in S3 but late (SQS refused them); a dropped one is lost.
    this.alarm('IncomingSpooled', {
      metric: runnerMetric(RUNNER_METRICS.incomingSpooled),
      threshold: 1,
      description:
        'SQS refused incoming messages: the runner spooled them to S3 (auth-state bucket, spool/) and redrives them when SQS answers. Check SQS; IncomingRedriven should catch up.',
    });
    this.alarm('IncomingDropped', {
      metric: runnerMetric(RUNNER_METRICS.incomingDropped),
      threshold: 1,
      description:
        'Incoming messages were lost: neither SQS nor S3 took them before the runner stopped (or one was unreadable). Check both and the runner log "incoming message dropped".',
    });

    // An accepted send that never left, given up by the send sweeper (FAILED NOT_SENT).
    this.alarm('SendsGivenUp', {
      metric: runnerMetric(RUNNER_METRICS.sendsGivenUp),
      threshold: 1,
      description:
        'Accepted sends never left and were FAILED with NOT_SENT by the send sweeper: check the command queues (purged? DLQ?) and the runner log "sends swept".',
    });

    // Lambda: handlers map every expected failure to a response, so any error is a bug.
    for (const { name, fn } of props.functions) {
      this.alarm(`${name}Errors`, {
        metric: fn.function.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        description: `The ${name} Lambda failed: check its log group.`,
      });
      this.alarm(`${name}Throttles`, {
        metric: fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        description: `The ${name} Lambda was throttled: check the account concurrency.`,
      });
    }
    this.alarm('Api5xx', {
      metric: props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 5,
      description: 'The API answered 5xx five or more times in 5 minutes.',
    });

    this.dashboard = this.buildDashboard(props, runnerMetric);
  }

  private alarm(
    id: string,
    options: {
      metric: IMetric;
      threshold: number;
      description: string;
      comparisonOperator?: ComparisonOperator;
      evaluationPeriods?: number;
      treatMissingData?: TreatMissingData;
    },
  ): Alarm {
    const alarm = new Alarm(this, `${id}Alarm`, {
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  private buildDashboard(props: ObservabilityProps, runnerMetric: (name: string) => Metric): Dashboard {
    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const minute = { period: Duration.minutes(1) };
    dashboard.addWidgets(
      new TextWidget({ markdown: `# WhatsApp gateway (${props.stage})`, width: 24, height: 1 }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and errors',
        left: [
          props.api.metricCount(minute),
          props.api.metricClientError(minute),
          props.api.metricServerError(minute),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'API latency (p99)',
        left: [props.api.metricLatency({ ...minute, statistic: 'p99' })],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors',
        left: props.functions.map(({ name, fn }) => fn.function.metricErrors({ ...minute, label: name })),
        width: 12,
      }),
      new GraphWidget({
        title: 'Lambda throttles',
        left: props.functions.map(({ name, fn }) => fn.function.metricThrottles({ ...minute, label: name })),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue depth',
        left: props.queues.map(({ queue, definition }) =>
          queue.metricApproximateNumberOfMessagesVisible({ ...minute, label: definition.name }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'Oldest message age (s)',
        left: props.queues.map(({ queue, definition }) =>
          queue.metricApproximateAgeOfOldestMessage({ ...minute, label: definition.name }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'Dead letters',
        left: props.queues.map(({ deadLetterQueue, definition }) =>
          deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            ...minute,
            label: `${definition.name}-dlq`,
          }),
        ),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Runner heartbeat and leases',
        left: [runnerMetric(RUNNER_METRICS.heartbeat), runnerMetric(RUNNER_METRICS.leaseLost)],
        width: 8,
      }),
      new GraphWidget({
        title: 'WhatsApp disconnects and failed commands',
        left: [
          runnerMetric(RUNNER_METRICS.disconnect440),
          runnerMetric(RUNNER_METRICS.disconnect401),
          runnerMetric(RUNNER_METRICS.commandsFailed),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Incoming messages spooled, redriven, dropped',
        left: [
          runnerMetric(RUNNER_METRICS.incomingSpooled),
          runnerMetric(RUNNER_METRICS.incomingRedriven),
          runnerMetric(RUNNER_METRICS.incomingDropped),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Runner CPU and memory (%)',
        left: props.runnerServices.flatMap((service, index) => [
          service.metricCpuUtilization({ ...minute, label: `runner ${index} CPU` }),
          service.metricMemoryUtilization({ ...minute, label: `runner ${index} memory` }),
        ]),
        width: 8,
      }),
    );
    return dashboard;
  }
}
