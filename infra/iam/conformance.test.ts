import { beforeAll, describe, expect, it } from 'vitest';
import { iamRequestsOf, type RecordedCall } from '#shared/adapters/aws-call-recorder.ts';
import { synthGateway } from '../test-support.ts';
import { checkCalls, formatRefusals, type GatewayModel, gatewayModel } from './conformance.ts';
import { evaluate, type PolicyStatement } from './policy-evaluator.ts';
import type { CfnTemplate } from './template-resolver.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = any;

const QUEUE = 'http://sqs.us-east-1.127.0.0.1:4566/000000000000/tab12-commands-0.fifo';
const DLQ = 'http://sqs.us-east-1.127.0.0.1:4566/000000000000/tab12-commands-0-dlq.fifo';

/** A call as the recorder writes it, for `component`. */
const call = (
  component: string,
  client: string,
  command: string,
  input: Record<string, unknown>,
): RecordedCall => ({
  ...iamRequestsOf(client, command, input),
  component,
});

/** What `POST /send` does: one transaction over messages and usage, then the command. */
const SEND_CALLS = [
  call('route:SendMessage', 'DynamoDBClient', 'TransactWriteItemsCommand', {
    TransactItems: [
      { Put: { TableName: 'tab12-Messages', Item: {} } },
      { Update: { TableName: 'tab12-Messages', Key: {} } },
      { Update: { TableName: 'tab12-Usage', Key: {} } },
    ],
  }),
  call('route:SendMessage', 'SQSClient', 'SendMessageCommand', { QueueUrl: QUEUE, MessageBody: '{}' }),
];

let model: GatewayModel;
let templates: { stateful: CfnTemplate; stateless: CfnTemplate };
let stacks: ReturnType<typeof synthGateway>;

beforeAll(() => {
  stacks = synthGateway({ stage: 'dev', shardCount: 1 }, { nag: false });
  templates = {
    stateful: stacks.statefulTemplate.toJSON() as CfnTemplate,
    stateless: stacks.statelessTemplate.toJSON() as CfnTemplate,
  };
  model = gatewayModel(stacks, templates);
});

describe('the IAM conformance check over the synthesized template', () => {
  it('allows the send transaction item by item and the command, for the send route', () => {
    expect(checkCalls(model, SEND_CALLS)).toEqual([]);
  });

  it('allows the runner to move a malformed command to the commands DLQ', () => {
    const calls = [
      call('runner', 'SQSClient', 'GetQueueAttributesCommand', { QueueUrl: QUEUE }),
      call('runner', 'SQSClient', 'SendMessageCommand', { QueueUrl: DLQ, MessageBody: '{}' }),
      call('runner', 'S3Client', 'PutObjectCommand', { Bucket: 'auth-1', Key: 's/creds.json' }),
      call('runner', 'S3Client', 'ListObjectsV2Command', { Bucket: 'auth-1', Prefix: 's/' }),
    ];
    expect(checkCalls(model, calls)).toEqual([]);
  });

  it("allows the runner's command handling: receive, renew, give back, and delete one or a batch", () => {
    const calls = [
      call('runner', 'SQSClient', 'ReceiveMessageCommand', { QueueUrl: QUEUE }),
      call('runner', 'SQSClient', 'ChangeMessageVisibilityCommand', { QueueUrl: QUEUE }),
      call('runner', 'SQSClient', 'DeleteMessageCommand', { QueueUrl: QUEUE }),
      call('runner', 'SQSClient', 'DeleteMessageBatchCommand', { QueueUrl: QUEUE, Entries: [{}, {}] }),
    ];
    expect(checkCalls(model, calls)).toEqual([]);
    // Only the runner deletes commands: the send route, which enqueues them, may not.
    const route = call('route:SendMessage', 'SQSClient', 'DeleteMessageBatchCommand', { QueueUrl: QUEUE });
    expect(checkCalls(model, [route]).map((r) => r.action)).toEqual(['sqs:DeleteMessage']);
  });

  it("allows the runner's send sweeper: its shard's sessions, the QUEUED index, a command again", () => {
    const calls = [
      call('runner', 'DynamoDBClient', 'QueryCommand', { TableName: 'tab12-Sessions', IndexName: 'gsi1' }),
      call('runner', 'DynamoDBClient', 'QueryCommand', { TableName: 'tab12-Messages', IndexName: 'gsi2' }),
      call('runner', 'DynamoDBClient', 'UpdateItemCommand', { TableName: 'tab12-Messages', Key: {} }),
      call('runner', 'SQSClient', 'SendMessageCommand', { QueueUrl: QUEUE, MessageBody: '{}' }),
    ];
    expect(checkCalls(model, calls)).toEqual([]);
  });

  it("allows the runner's receipt lookup: a send by WhatsApp id through gsi3, then the message", () => {
    const calls = [
      call('runner', 'DynamoDBClient', 'QueryCommand', { TableName: 'tab12-Messages', IndexName: 'gsi3' }),
      call('runner', 'DynamoDBClient', 'GetItemCommand', { TableName: 'tab12-Messages', Key: {} }),
    ];
    expect(checkCalls(model, calls)).toEqual([]);
  });

  it('allows the runner to record the sha256 of an upload it sent (a HEAD, then a copy onto itself), not the send route', () => {
    const key = 'media/tenant-1/8d3c8a52-5bd4-4a52-9d7e-8f0a6b1c2d3e';
    const writeBack = (component: string) => [
      call(component, 'S3Client', 'HeadObjectCommand', { Bucket: 'auth-1', Key: key }),
      call(component, 'S3Client', 'HeadObjectCommand', { Bucket: 'auth-1', Key: `${key}.upload` }),
      call(component, 'S3Client', 'CopyObjectCommand', {
        Bucket: 'auth-1',
        Key: key,
        CopySource: `auth-1/${key}`,
      }),
    ];
    expect(checkCalls(model, writeBack('runner'))).toEqual([]);
    // The send route only looks at files: the copy's put is refused.
    expect(checkCalls(model, writeBack('route:SendMessage')).map((r) => r.action)).toEqual(['s3:PutObject']);
  });

  it('refuses what a component was not granted, naming the component, the action and the resource', () => {
    const calls = [
      call('route:GetOpenApi', 'DynamoDBClient', 'GetItemCommand', { TableName: 'tab12-Sessions', Key: {} }),
      call('route:GetUsage', 'DynamoDBClient', 'UpdateItemCommand', { TableName: 'tab12-Usage', Key: {} }),
      call('authorizer', 'SQSClient', 'SendMessageCommand', { QueueUrl: QUEUE }),
      call('ai', 'DynamoDBClient', 'QueryCommand', { TableName: 'tab12-Leases', IndexName: 'gsi1' }),
    ];
    const refusals = checkCalls(model, calls);
    expect(refusals.map((r) => [r.component, r.action, r.resource])).toEqual([
      ['route:GetOpenApi', 'dynamodb:GetItem', 'table tab12-Sessions'],
      ['route:GetUsage', 'dynamodb:UpdateItem', 'table tab12-Usage'],
      ['authorizer', 'sqs:SendMessage', `queue ${QUEUE}`],
      ['ai', 'dynamodb:Query', 'table tab12-Leases index gsi1'],
    ]);
    expect(formatRefusals(refusals)).toContain('route:GetOpenApi: dynamodb:GetItem on table tab12-Sessions');
  });

  it('refuses a component it does not know (a typo never passes silently)', () => {
    const calls = [
      call('route:NoSuchRoute', 'DynamoDBClient', 'GetItemCommand', { TableName: 'x-Sessions' }),
    ];
    expect(checkCalls(model, calls).map((r) => r.decision)).toEqual(['unknownComponent']);
  });

  it('fails once one grant is removed from the template: the send route without UpdateItem on usage', () => {
    const stateless: Json = structuredClone(templates.stateless);
    const roleId = model.roles.get('route:SendMessage');
    const usageTable = model.tables.usage;
    let removed = 0;
    for (const resource of Object.values(stateless.Resources) as Json[]) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      if (!resource.Properties.Roles.some((r: Json) => r.Ref === roleId)) continue;
      const document = resource.Properties.PolicyDocument;
      for (const statement of [...document.Statement]) {
        const targets = [statement.Resource].flat();
        const usage = targets.filter((r: Json) => JSON.stringify(r).includes(usageTable));
        if (usage.length === 0 || !statement.Action.includes('dynamodb:UpdateItem')) continue;
        // The same statement, minus this one action on this one table.
        statement.Resource = targets.filter((r: Json) => !usage.includes(r));
        document.Statement.push({
          ...statement,
          Resource: usage,
          Action: statement.Action.filter((a: string) => a !== 'dynamodb:UpdateItem'),
        });
        removed += 1;
      }
    }
    expect(removed).toBe(1);
    const refusals = checkCalls({ ...model, templates: { ...templates, stateless } }, SEND_CALLS);
    expect(refusals).toEqual([
      expect.objectContaining({
        component: 'route:SendMessage',
        action: 'dynamodb:UpdateItem',
        resource: 'table tab12-Usage',
        decision: 'implicitDeny',
      }),
    ]);
  });
});

describe('the recorded IAM requests of an SDK call', () => {
  it('are one per item of a transaction, with its own action and table', () => {
    expect(SEND_CALLS[0]?.requests).toEqual([
      { action: 'dynamodb:PutItem', resource: { table: 'tab12-Messages' } },
      { action: 'dynamodb:UpdateItem', resource: { table: 'tab12-Messages' } },
      { action: 'dynamodb:UpdateItem', resource: { table: 'tab12-Usage' } },
    ]);
    const get = iamRequestsOf('DynamoDBClient', 'TransactGetItemsCommand', {
      TransactItems: [{ Get: { TableName: 'a-Sessions' } }, { Get: { TableName: 'a-Leases' } }],
    });
    expect(get.requests.map((r) => [r.action, r.resource])).toEqual([
      ['dynamodb:GetItem', { table: 'a-Sessions' }],
      ['dynamodb:GetItem', { table: 'a-Leases' }],
    ]);
  });

  it('are one per table of a batch, under the batch action', () => {
    const batch = iamRequestsOf('DynamoDBClient', 'BatchWriteItemCommand', {
      RequestItems: { 'a-Messages': [{}], 'a-Usage': [{}] },
    });
    expect(batch.requests).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: { table: 'a-Messages' } },
      { action: 'dynamodb:BatchWriteItem', resource: { table: 'a-Usage' } },
    ]);
  });

  it('use the IAM action names of SQS batches and S3 listings and deletes', () => {
    expect(iamRequestsOf('SQSClient', 'DeleteMessageBatchCommand', { QueueUrl: QUEUE }).requests).toEqual([
      { action: 'sqs:DeleteMessage', resource: { queueUrl: QUEUE } },
    ]);
    expect(iamRequestsOf('S3Client', 'ListObjectsV2Command', { Bucket: 'b' }).requests).toEqual([
      { action: 's3:ListBucket', resource: { bucket: 'b' } },
    ]);
    expect(
      iamRequestsOf('S3Client', 'DeleteObjectsCommand', {
        Bucket: 'b',
        Delete: { Objects: [{ Key: 'k1' }, { Key: 'k2' }] },
      }).requests,
    ).toEqual([
      { action: 's3:DeleteObject', resource: { bucket: 'b', key: 'k1' } },
      { action: 's3:DeleteObject', resource: { bucket: 'b', key: 'k2' } },
    ]);
  });
});

describe('the policy evaluator', () => {
  const allow = (Action: string[], Resource: string[]): PolicyStatement => ({
    Effect: 'Allow',
    Action,
    Resource,
  });

  it('allows by action and resource wildcards, and denies implicitly otherwise', () => {
    const statements = [allow(['s3:Get*'], ['arn:aws:s3:::b/*'])];
    expect(evaluate(statements, 's3:GetObject', 'arn:aws:s3:::b/k')).toBe('allowed');
    expect(evaluate(statements, 'S3:getobject', 'arn:aws:s3:::b/k')).toBe('allowed');
    expect(evaluate(statements, 's3:PutObject', 'arn:aws:s3:::b/k')).toBe('implicitDeny');
    expect(evaluate(statements, 's3:GetObject', 'arn:aws:s3:::other/k')).toBe('implicitDeny');
  });

  it('lets an explicit deny win, and never counts a conditional allow', () => {
    const arn = 'arn:aws:dynamodb:eu-west-1:1:table/T';
    expect(
      evaluate(
        [allow(['dynamodb:*'], [arn]), { Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: arn }],
        'dynamodb:DeleteItem',
        arn,
      ),
    ).toBe('explicitDeny');
    expect(
      evaluate(
        [{ ...allow(['dynamodb:GetItem'], [arn]), Condition: { Bool: { 'aws:SecureTransport': 'true' } } }],
        'dynamodb:GetItem',
        arn,
      ),
    ).toBe('implicitDeny');
  });
});
