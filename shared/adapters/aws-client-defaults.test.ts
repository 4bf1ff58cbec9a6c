import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { NonLoopbackEndpointError, prepareClient } from './aws-client-defaults.ts';
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

describe('prepared clients', () => {
  it('sign every request with one reused signer, under the credentials and date current at each call', async () => {
    const authorizations: string[] = [];
    const server = createServer((req, res) => {
      authorizations.push(req.headers.authorization ?? '');
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    // Credentials that rotate after the first call, as a role's do (expiring within the SDK's
    // 5-minute window, so it asks the provider again at every call).
    let key = 'FIRSTKEY';
    const client = prepareClient(
      new DynamoDBClient({
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        region: 'eu-west-1',
        credentials: async () => ({
          accessKeyId: key,
          secretAccessKey: 'secret',
          expiration: new Date(Date.now() + 60_000),
        }),
      }),
    );
    try {
      const signer = client.config.signer as (scheme?: unknown) => Promise<unknown>;
      const scheme = { name: 'sigv4', signingName: 'dynamodb', signingRegion: 'eu-west-1' };
      expect(await signer(scheme)).toBe(await signer({ ...scheme }));
      expect(await signer(scheme)).not.toBe(await signer({ ...scheme, signingRegion: 'us-east-1' }));
      await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
      key = 'SECONDKEY';
      await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'b' } } }));
      expect(authorizations).toHaveLength(2);
      expect(authorizations[0]).toMatch(/Credential=FIRSTKEY\/\d{8}\/eu-west-1\/dynamodb\/aws4_request/);
      expect(authorizations[1]).toMatch(/Credential=SECONDKEY\/\d{8}\/eu-west-1\/dynamodb\/aws4_request/);
    } finally {
      client.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
