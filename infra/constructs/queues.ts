import { Duration, Fn, type RemovalPolicy } from 'aws-cdk-lib';
import { DeduplicationScope, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  commandQueue,
  deadLetterName,
  INCOMING_QUEUE,
  type QueueDefinition,
} from '#shared/adapters/queue-definitions.ts';

export interface GatewayQueuesProps {
  shardCount: number;
  /** Prepended to every queue name so that two stages can share an account and region. */
  namePrefix: string;
  removalPolicy: RemovalPolicy;
}

/** Four days: far longer than maxReceiveCount × visibility timeout, so retries run out before retention. */
export const SOURCE_RETENTION = Duration.days(4);
/** The SQS maximum, and longer than the source queues', so a dead letter is never lost before anyone looks. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/** A FIFO queue and its dead-letter queue. */
export interface QueuePair {
  definition: QueueDefinition;
  queue: Queue;
  deadLetterQueue: Queue;
}

/**
 * The SQS FIFO queues of the queue definitions: `commands-<shard>.fifo` per shard and
 * `incoming.fifo`, each with a `-dlq.fifo`, named as in the contract behind a stage prefix. Code
 * learns the URLs from env, never the names. Producers set MessageDeduplicationId, so
 * content-based dedup stays off.
 */
export class GatewayQueues extends Construct {
  /** Command queues in shard order. */
  readonly commands: QueuePair[];
  readonly incoming: QueuePair;

  constructor(scope: Construct, id: string, props: GatewayQueuesProps) {
    super(scope, id);
    this.commands = Array.from({ length: props.shardCount }, (_, shard) =>
      this.declare(`Commands${shard}`, commandQueue(shard), props),
    );
    this.incoming = this.declare('Incoming', INCOMING_QUEUE, props);
  }

  /** Every pair, commands first. */
  get all(): QueuePair[] {
    return [...this.commands, this.incoming];
  }

  /** The command queue URLs as one comma-separated value, in shard order (`COMMAND_QUEUE_URLS`). */
  get commandQueueUrls(): string {
    return Fn.join(
      ',',
      this.commands.map((pair) => pair.queue.queueUrl),
    );
  }

  private declare(id: string, definition: QueueDefinition, props: GatewayQueuesProps): QueuePair {
    const { namePrefix, removalPolicy } = props;
    const common = {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.QUEUE,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy,
    };
    const deadLetterQueue = new Queue(this, `${id}DeadLetter`, {
      ...common,
      queueName: `${namePrefix}${deadLetterName(definition)}.fifo`,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    const queue = new Queue(this, id, {
      ...common,
      queueName: `${namePrefix}${definition.name}.fifo`,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      retentionPeriod: SOURCE_RETENTION,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
    });
    return { definition, queue, deadLetterQueue };
  }
}
