import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { commandQueue, INCOMING_QUEUE, MAX_RECEIVE_COUNT } from '#shared/adapters/queue-definitions.ts';
import { TABLES, type TableDefinition } from '#shared/adapters/table-definitions.ts';
import { DEAD_LETTER_RETENTION, SOURCE_RETENTION } from '../constructs/queues.ts';
import { type SynthesizedStateful as SynthesizedGateway, synthStateful } from '../test-support.ts';

const DAY = 24 * 3600;
const tableDefinitions = Object.values(TABLES) as TableDefinition[];

let dev: SynthesizedGateway;
let throwaway: SynthesizedGateway;

beforeAll(() => {
  dev = synthStateful({ stage: 'dev', shardCount: 3 });
  throwaway = synthStateful({ stage: 'tmp', removalPolicy: 'destroy' });
});

/** The logical id and properties of the one table whose key schema starts with `definition`. */
const tableResource = (gateway: SynthesizedGateway, definition: TableDefinition) => {
  const logicalId = gateway.stateful.getLogicalId(
    gateway.stateful.tables.byKey[
      (Object.keys(TABLES) as (keyof typeof TABLES)[]).find(
        (k) => TABLES[k].id === definition.id,
      ) as keyof typeof TABLES
    ].node.defaultChild as never,
  );
  return gateway.statefulTemplate.toJSON().Resources[logicalId] as {
    Properties: Record<string, unknown>;
    DeletionPolicy: string;
    UpdateReplacePolicy: string;
  };
};

describe('stateful stack: DynamoDB', () => {
  it('declares exactly one table per entry of TABLES, with generated names', () => {
    dev.statefulTemplate.resourceCountIs('AWS::DynamoDB::Table', tableDefinitions.length);
    for (const table of Object.values(dev.statefulTemplate.findResources('AWS::DynamoDB::Table'))) {
      expect(table.Properties.TableName).toBeUndefined();
    }
  });

  it.each(tableDefinitions.map((d) => [d.id, d] as const))(
    '%s: keys, indexes and TTL from its definition, on demand, PITR, encrypted',
    (_id, definition) => {
      const { Properties } = tableResource(dev, definition);
      const keySchema = [
        { AttributeName: definition.partitionKey, KeyType: 'HASH' },
        ...(definition.sortKey ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' }] : []),
      ];
      expect(Properties.KeySchema).toEqual(keySchema);
      expect(Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(Properties.DeletionProtectionEnabled).toBe(true);
      expect(Properties.TimeToLiveSpecification).toEqual(
        definition.ttlAttribute ? { AttributeName: definition.ttlAttribute, Enabled: true } : undefined,
      );
      const indexes = (Properties.GlobalSecondaryIndexes ?? []) as {
        IndexName: string;
        KeySchema: unknown;
      }[];
      expect(indexes.map((i) => i.IndexName)).toEqual(definition.indexes.map((i) => i.name));
      for (const index of definition.indexes) {
        expect(indexes.find((i) => i.IndexName === index.name)?.KeySchema).toEqual([
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ]);
      }
      const attributes = Properties.AttributeDefinitions as {
        AttributeName: string;
        AttributeType: string;
      }[];
      expect(attributes.every((a) => a.AttributeType === 'S')).toBe(true);
    },
  );

  it('retains every table by default', () => {
    for (const definition of tableDefinitions) {
      const table = tableResource(dev, definition);
      expect([table.DeletionPolicy, table.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    }
  });

  it('deletes tables with the stack only when the stage says destroy, and then drops deletion protection', () => {
    for (const definition of tableDefinitions) {
      const table = tableResource(throwaway, definition);
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });
});

describe('stateful stack: auth-state bucket', () => {
  const bucketProps = (gateway: SynthesizedGateway) => {
    const id = gateway.stateful.getLogicalId(gateway.stateful.authState.bucket.node.defaultChild as never);
    return gateway.statefulTemplate.toJSON().Resources[id];
  };

  it('lets the media policy read objects under media/ only and decrypt them through S3 only', () => {
    const stack = dev.stateful;
    const id = stack.getLogicalId(stack.authState.mediaReadPolicy.node.defaultChild as never);
    const bucketId = stack.getLogicalId(stack.authState.bucket.node.defaultChild as never);
    const keyId = stack.getLogicalId(stack.authState.key.node.defaultChild as never);
    const statements = dev.statefulTemplate.toJSON().Resources[id].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Sid: 'MediaObjects',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/media/*']] },
      },
      {
        Sid: 'MediaKeyThroughS3',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      },
    ]);
  });

  it('lets the media upload policy put objects under media/ only, with the data key through S3 only', () => {
    const stack = dev.stateful;
    const id = stack.getLogicalId(stack.authState.mediaUploadPolicy.node.defaultChild as never);
    const bucketId = stack.getLogicalId(stack.authState.bucket.node.defaultChild as never);
    const keyId = stack.getLogicalId(stack.authState.key.node.defaultChild as never);
    const statements = dev.statefulTemplate.toJSON().Resources[id].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Sid: 'MediaUploads',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/media/*']] },
      },
      {
        Sid: 'MediaKeyThroughS3',
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      },
    ]);
  });

  it('lets the media describe policy get and put objects under media/ only (a copy onto itself), the key through S3 only', () => {
    const stack = dev.stateful;
    const id = stack.getLogicalId(stack.authState.mediaDescribePolicy.node.defaultChild as never);
    const bucketId = stack.getLogicalId(stack.authState.bucket.node.defaultChild as never);
    const keyId = stack.getLogicalId(stack.authState.key.node.defaultChild as never);
    const statements = dev.statefulTemplate.toJSON().Resources[id].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Sid: 'MediaObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/media/*']] },
      },
      {
        Sid: 'MediaKeyThroughS3',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      },
    ]);
  });

  it('encrypts with its own rotating KMS key and a bucket key', () => {
    const keyId = dev.stateful.getLogicalId(dev.stateful.authState.key.node.defaultChild as never);
    dev.statefulTemplate.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true }),
      DeletionPolicy: 'Retain',
    });
    expect(bucketProps(dev).Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
          },
        },
      ],
    });
  });

  it('is versioned, expires old versions, blocks public access and logs access', () => {
    const { Properties, DeletionPolicy } = bucketProps(dev);
    expect(DeletionPolicy).toBe('Retain');
    expect(Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 14 },
        ExpiredObjectDeleteMarker: true,
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      }),
      {
        Id: 'expire-media',
        Status: 'Enabled',
        Prefix: 'media/',
        ExpirationInDays: 30,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      },
    ]);
    expect(Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: {
        Ref: dev.stateful.getLogicalId(dev.stateful.authState.accessLogs.node.defaultChild as never),
      },
      LogFilePrefix: 'auth-state/',
    });
  });

  it('denies requests without TLS 1.2 on both buckets', () => {
    const policies = dev.statefulTemplate.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      const denies = policy.Properties.PolicyDocument.Statement.filter(
        (s: { Effect: string }) => s.Effect === 'Deny',
      );
      expect(denies).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Action: 's3:*',
          }),
          expect.objectContaining({
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            Action: 's3:*',
          }),
        ]),
      );
    }
  });

  it('gives access to the auth state only through a managed policy scoped to this bucket and key', () => {
    const policyId = dev.stateful.getLogicalId(
      dev.stateful.authState.readWritePolicy.node.defaultChild as never,
    );
    const bucketId = dev.stateful.getLogicalId(dev.stateful.authState.bucket.node.defaultChild as never);
    const keyId = dev.stateful.getLogicalId(dev.stateful.authState.key.node.defaultChild as never);
    const statements = dev.statefulTemplate.toJSON().Resources[policyId].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Sid: 'AuthStateObjects',
        Effect: 'Allow',
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
      },
      {
        Sid: 'AuthStateListing',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
      },
      {
        Sid: 'AuthStateKeyThroughS3',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      },
    ]);
  });

  it('encrypts the access-log bucket with S3 keys (log delivery cannot use KMS) and expires logs', () => {
    const logsId = dev.stateful.getLogicalId(dev.stateful.authState.accessLogs.node.defaultChild as never);
    const { Properties } = dev.statefulTemplate.toJSON().Resources[logsId];
    expect(
      Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: 'AES256',
    });
    expect(Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(90);
  });
});

describe('stateful stack: SQS', () => {
  const queues = () => Object.values(dev.statefulTemplate.findResources('AWS::SQS::Queue'));
  const queueNamed = (name: string) => {
    const match = queues().find((q) => q.Properties.QueueName === name);
    if (!match) throw new Error(`no queue ${name}`);
    return match;
  };
  const expected = [...[0, 1, 2].map((shard) => commandQueue(shard)), INCOMING_QUEUE];

  it('declares commands-<shard>.fifo per shard and incoming.fifo, each with a -dlq.fifo, behind the stage prefix', () => {
    expect(
      queues()
        .map((q) => q.Properties.QueueName)
        .sort(),
    ).toEqual(
      [
        ...expected.flatMap((d) => [`wa-dev-${d.name}.fifo`, `wa-dev-${d.name}-dlq.fifo`]),
        // Webhook deliveries: declared by infra/constructs/webhooks.ts (tested there).
        'wa-dev-webhook-deliveries.fifo',
        'wa-dev-webhook-deliveries-dlq.fifo',
      ].sort(),
    );
  });

  it.each(expected.map((d) => [d.name, d] as const))(
    '%s: FIFO, producer dedup, encrypted, redrive after %#, retention that outlives the retries',
    (_name, definition) => {
      const queue = queueNamed(`wa-dev-${definition.name}.fifo`);
      const dlq = queueNamed(`wa-dev-${definition.name}-dlq.fifo`);
      for (const q of [queue, dlq]) {
        expect(q.Properties).toMatchObject({
          FifoQueue: true,
          ContentBasedDeduplication: false,
          DeduplicationScope: 'queue',
          SqsManagedSseEnabled: true,
        });
        expect([q.DeletionPolicy, q.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
      }
      expect(queue.Properties.VisibilityTimeout).toBe(definition.visibilityTimeoutSeconds);
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(MAX_RECEIVE_COUNT);
      const dlqId = Object.entries(dev.statefulTemplate.findResources('AWS::SQS::Queue')).find(
        ([, q]) => q === dlq,
      )?.[0];
      expect(queue.Properties.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [dlqId, 'Arn'] });

      const retention = queue.Properties.MessageRetentionPeriod as number;
      expect(retention).toBe(SOURCE_RETENTION.toSeconds());
      expect(retention).toBeGreaterThan(MAX_RECEIVE_COUNT * definition.visibilityTimeoutSeconds);
      expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * DAY);
      expect(DEAD_LETTER_RETENTION.toSeconds()).toBeGreaterThan(retention);
    },
  );

  it('denies every queue action without TLS', () => {
    const policies = Object.values(dev.statefulTemplate.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(expected.length * 2 + 2); // + webhook deliveries and its DLQ
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual([
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]);
    }
  });

  it('deletes queues with the stack only when the stage says destroy', () => {
    for (const q of Object.values(throwaway.statefulTemplate.findResources('AWS::SQS::Queue'))) {
      expect(q.DeletionPolicy).toBe('Delete');
    }
  });
});

describe('stateful stack: outputs and protection', () => {
  it('outputs every table name, the bucket name and every queue URL', () => {
    const outputs = Object.keys(dev.statefulTemplate.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining([
        ...tableDefinitions.map((d) => `${d.id}TableName`),
        'AuthStateBucketName',
        'CommandQueue0Url',
        'CommandQueue1Url',
        'CommandQueue2Url',
        'IncomingQueueUrl',
        'Commands0DeadLetterQueueName',
        'IncomingDeadLetterQueueName',
      ]),
    );
  });

  it('turns on termination protection when data is retained, not for a throw-away stage', () => {
    expect(dev.stateful.terminationProtection).toBe(true);
    expect(throwaway.stateful.terminationProtection).toBe(false);
  });

  it('is environment-agnostic (no account or region lookups)', () => {
    expect(dev.stateful.environment).toBe('aws://unknown-account/unknown-region');
  });
});
