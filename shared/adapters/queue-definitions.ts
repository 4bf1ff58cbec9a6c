/**
 * The SQS queues, as data shared by the local stack and the CDK app. All are FIFO; each has a
 * dead-letter queue that takes a message after `maxReceiveCount` receives.
 */
export interface QueueDefinition {
  /** Queue name without `.fifo`. */
  name: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

export const MAX_RECEIVE_COUNT = 5;

export const commandQueue = (shard: number): QueueDefinition => ({
  name: `commands-${shard}`,
  maxReceiveCount: MAX_RECEIVE_COUNT,
  // Short, because a command taken by a runner that crashed blocks its session until it reappears;
  // the runner extends it while a command runs long.
  visibilityTimeoutSeconds: 20,
});

export const INCOMING_QUEUE: QueueDefinition = {
  name: 'incoming',
  maxReceiveCount: MAX_RECEIVE_COUNT,
  // Longer than the AI Lambda's timeout, as AWS requires for an event source mapping.
  visibilityTimeoutSeconds: 180,
};

export const deadLetterName = (queue: QueueDefinition): string => `${queue.name}-dlq`;

/**
 * `webhook-deliveries.fifo`: one job per (event, endpoint), grouped per (endpoint, session). The
 * delivery schedules its own retries (ChangeMessageVisibility, for at least 24 h) and records them,
 * so receives are many and the dead-letter queue is only for jobs that can never be delivered.
 */
export const WEBHOOK_DELIVERY_QUEUE: QueueDefinition = {
  name: 'webhook-deliveries',
  // The SQS maximum: a job behind a failing one in its group is received (and handed back) with it.
  maxReceiveCount: 1000,
  // Longer than the delivery Lambda's timeout.
  visibilityTimeoutSeconds: 360,
};
/** Retention of delivery jobs: the SQS maximum, beyond the longest retry span a job can have. */
export const WEBHOOK_DELIVERY_RETENTION_SECONDS = 14 * 86_400;
