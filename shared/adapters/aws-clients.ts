import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EndpointConfig } from '../config.ts';
import { recordCalls } from './aws-call-recorder.ts';

export interface AwsClients {
  dynamo: DynamoDBDocumentClient;
  sqs: SQSClient;
  s3: S3Client;
}

/**
 * Per-attempt timeouts (ms), so that no hung call blocks a caller for good (by default the SDK waits
 * up to 15 minutes on a silent socket). `requestTimeout` only logs a warning unless
 * `throwOnRequestTimeout` is set. SQS long-polls for up to 20 s, so its limit must exceed the wait.
 */
export const REQUEST_TIMEOUTS = {
  dynamo: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  sqs: { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  s3: { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
} as const;

/**
 * Builds every AWS client once per process. The one place that switches between AWS and the local
 * stand-ins: an endpoint in the config points that client at loopback (path-style S3 for the stand-in).
 */
export const createAwsClients = (
  config: EndpointConfig,
  /** `component`: the deployed component these clients belong to (for the IAM conformance check). */
  options: { component?: string } = {},
): AwsClients => {
  const dynamo = new DynamoDBClient({
    requestHandler: REQUEST_TIMEOUTS.dynamo,
    ...(config.DYNAMODB_ENDPOINT && { endpoint: config.DYNAMODB_ENDPOINT }),
  });
  const clients: AwsClients = {
    dynamo: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    sqs: new SQSClient({
      requestHandler: REQUEST_TIMEOUTS.sqs,
      ...(config.SQS_ENDPOINT && { endpoint: config.SQS_ENDPOINT }),
    }),
    s3: new S3Client({
      requestHandler: REQUEST_TIMEOUTS.s3,
      ...(config.S3_ENDPOINT && {
        endpoint: config.S3_ENDPOINT,
        forcePathStyle: true,
        // The file-backed stand-in (s3rver) corrupts streamed uploads with the SDK's default checksums.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    }),
  };
  return recordCalls(clients, options.component);
};
