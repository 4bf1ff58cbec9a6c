import { existsSync } from 'node:fs';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { NonLoopbackEndpointError } from './aws-client-defaults.ts';
import { createDynamoClient } from './dynamodb-client.ts';
import { createS3Client } from './s3-client.ts';
import { createSqsClient } from './sqs-client.ts';

// No test can reach a real AWS account, whatever the caller's shell exports (vitest.config.ts).

describe('test processes and AWS', () => {
  it('run with their own credentials and region, and read no AWS profile or config file of the caller', () => {
    expect(process.env).toMatchObject({
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_LOOPBACK_ONLY: '1',
    });
    for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION', 'AWS_ROLE_ARN']) {
      expect(process.env[key], key).toBeUndefined();
    }
    expect(existsSync(process.env.AWS_CONFIG_FILE as string)).toBe(false);
    expect(existsSync(process.env.AWS_SHARED_CREDENTIALS_FILE as string)).toBe(false);
  });

  it('refuses a call from a client without an endpoint (that is AWS itself) before it leaves the process', async () => {
    const dynamo = createDynamoClient({});
    try {
      await expect(
        dynamo.send(new GetCommand({ TableName: 'any', Key: { pk: 'x' } })),
      ).rejects.toBeInstanceOf(NonLoopbackEndpointError);
    } finally {
      dynamo.destroy();
    }
    const s3 = createS3Client({});
    try {
      await expect(s3.send(new ListBucketsCommand({}))).rejects.toMatchObject({
        code: 'NON_LOOPBACK_ENDPOINT',
      });
    } finally {
      s3.destroy();
    }
  });

  it('refuses an endpoint that is not on loopback when the client is built', () => {
    expect(() => createSqsClient({ SQS_ENDPOINT: 'https://sqs.eu-west-1.amazonaws.com' })).toThrow(
      NonLoopbackEndpointError,
    );
    expect(() => createDynamoClient({ DYNAMODB_ENDPOINT: 'http://10.0.0.8:8000' })).toThrow(
      /tests may only reach loopback/,
    );
  });

  it('lets a call to a loopback endpoint through the guard (here to a port where nothing listens)', async () => {
    const sqs = createSqsClient({ SQS_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      const error = await sqs.send(new ListQueuesCommand({})).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(NonLoopbackEndpointError);
    } finally {
      sqs.destroy();
    }
  });
});
