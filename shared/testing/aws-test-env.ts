import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { provisionQueues, provisionTables } from '#local/stand-ins/provision.ts';
import { type AwsClients, createAwsClients } from '../adapters/aws-clients.ts';

export interface TestAws {
  clients: AwsClients;
  /** Env keys of the provisioned tables, queues and bucket, as the runtimes read them. */
  env: Record<string, string>;
  destroy(): void;
}

/** Fresh tables, queues and an auth-state bucket, under a random prefix, on the run's shared stand-ins. */
export const provisionTestAws = async (options: { shardCount?: number } = {}): Promise<TestAws> => {
  const endpoints = {
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    SQS_ENDPOINT: inject('fauxqsEndpoint'),
    S3_ENDPOINT: inject('fauxqsEndpoint'),
  };
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const dynamo = new DynamoDBClient({ endpoint: endpoints.DYNAMODB_ENDPOINT });
  const sqs = new SQSClient({ endpoint: endpoints.SQS_ENDPOINT });
  try {
    const tables = await provisionTables(dynamo, prefix);
    const queues = await provisionQueues(sqs, `${prefix}-`, options.shardCount ?? 1);
    const clients = createAwsClients(endpoints);
    // The media route reads the tenants' files from it (AUTH_STATE_BUCKET).
    const bucket = `${prefix}-auth`;
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      clients,
      env: { ...endpoints, ...tables, ...queues, AUTH_STATE_BUCKET: bucket },
      destroy: () => {
        clients.dynamo.destroy();
        clients.sqs.destroy();
        clients.s3.destroy();
      },
    };
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
};
