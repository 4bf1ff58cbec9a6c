import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TABLES, type TableKey } from '#shared/adapters/table-definitions.ts';
import { AuthStateBucket } from '../constructs/auth-state-bucket.ts';
import { GatewayQueues } from '../constructs/queues.ts';
import { GatewayTables } from '../constructs/tables.ts';
import { WebhookQueues } from '../constructs/webhooks.ts';
import type { StageConfig } from '../stage-config.ts';

export interface StatefulStackProps extends StackProps {
  config: StageConfig;
}

/**
 * What holds data: the tables, the auth-state bucket and its key, the queues. Deployed apart from
 * the code so that a stateless change can never replace or delete any of it.
 */
export class StatefulStack extends Stack {
  readonly tables: GatewayTables;
  readonly authState: AuthStateBucket;
  readonly queues: GatewayQueues;
  readonly webhookQueues: WebhookQueues;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    // Retained data also means a stack that cannot be deleted by accident.
    super(scope, id, { terminationProtection: props.config.removalPolicy === 'retain', ...props });
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.tables = new GatewayTables(this, 'Tables', { removalPolicy });
    this.authState = new AuthStateBucket(this, 'AuthState', {
      removalPolicy,
      mediaRetentionDays: config.mediaRetentionDays,
    });
    this.queues = new GatewayQueues(this, 'Queues', {
      shardCount: config.shardCount,
      namePrefix: `wa-${config.stage}-`,
      removalPolicy,
    });

    this.webhookQueues = new WebhookQueues(this, 'WebhookQueues', {
      namePrefix: `wa-${config.stage}-`,
      removalPolicy,
    });

    for (const key of Object.keys(TABLES) as TableKey[]) {
      new CfnOutput(this, `${TABLES[key].id}TableName`, {
        value: this.tables.byKey[key].tableName,
        description: `${TABLES[key].envKey} (the tenant command reads TENANTS_TABLE)`,
      });
    }
    new CfnOutput(this, 'AuthStateBucketName', { value: this.authState.bucket.bucketName });
    this.queues.commands.forEach((pair, shard) => {
      new CfnOutput(this, `CommandQueue${shard}Url`, { value: pair.queue.queueUrl });
    });
    new CfnOutput(this, 'IncomingQueueUrl', { value: this.queues.incoming.queue.queueUrl });
    for (const pair of this.queues.all) {
      new CfnOutput(this, `${pair.queue.node.id}DeadLetterQueueName`, {
        value: pair.deadLetterQueue.queueName,
      });
    }
  }
}
