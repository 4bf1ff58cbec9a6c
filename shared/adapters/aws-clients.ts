import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EndpointConfig } from '../config.ts';
import { createDynamoClient } from './dynamodb-client.ts';
import { createS3Client } from './s3-client.ts';
import { createSqsClient } from './sqs-client.ts';

export { REQUEST_TIMEOUTS } from './aws-client-defaults.ts';

export interface AwsClients {
  dynamo: DynamoDBDocumentClient;
  sqs: SQSClient;
  s3: S3Client;
}

/**
 * Builds all three AWS clients, for a process that uses them all (the runner, the local stack,
 * tests). A Lambda builds only its own clients from the per-client modules, so that its bundle
 * carries no SDK client it never calls. An endpoint in the config points that client at loopback.
 */
export const createAwsClients = (
  config: EndpointConfig,
  /** `component`: the deployed component these clients belong to (for the IAM conformance check). */
  options: { component?: string } = {},
): AwsClients => ({
  dynamo: createDynamoClient(config, options),
  sqs: createSqsClient(config, options),
  s3: createS3Client(config, options),
});

/** The clients of a queue worker Lambda (the AI worker, the webhook functions): no S3. */
export type DynamoAndSqsClients = Pick<AwsClients, 'dynamo' | 'sqs'>;

/** Builds a DynamoDB and an SQS client for one component (see `createAwsClients`). */
export const createDynamoAndSqsClients = (
  config: EndpointConfig,
  options: { component?: string } = {},
): DynamoAndSqsClients => ({
  dynamo: createDynamoClient(config, options),
  sqs: createSqsClient(config, options),
});
