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
