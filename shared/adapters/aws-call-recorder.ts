import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { currentComponent } from './aws-call-context.ts';

/**
 * Records every AWS call a component makes, as the IAM requests AWS would authorize, so a test
 * can check them against the roles of the synthesized CloudFormation template
 * (infra/iam/conformance.ts). Off unless `AWS_CALL_LOG_DIR` is set (the vitest config sets it);
 * one JSON line per call, one file per process.
 */

/** What a recorded call touches, in local terms (the check maps names to the template's ARNs). */
export type CallResource =
  | { table: string; index?: string }
  | { queueUrl: string }
  | { queueName: string }
  | { bucket: string; key?: string };

/** One request IAM authorizes: a transaction or batch is one per item. */
export interface IamRequest {
  action: string;
  resource: CallResource;
}

export interface RecordedCall {
  component: string;
  service: string;
  operation: string;
  requests: IamRequest[];
}

type Input = Record<string, unknown>;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

// TransactWriteItems and TransactGetItems have no IAM action of their own: AWS authorizes each item.
const TRANSACT_WRITE_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

const dynamoRequests = (operation: string, input: Input): IamRequest[] => {
  if (operation === 'TransactWriteItems') {
    return ((input.TransactItems ?? []) as Input[]).flatMap((item) =>
      Object.entries(item).map(([kind, body]) => ({
        action: TRANSACT_WRITE_ACTIONS[kind] ?? `dynamodb:${kind}`,
        resource: { table: str((body as Input).TableName) ?? '' },
      })),
    );
  }
  if (operation === 'TransactGetItems') {
    return ((input.TransactItems ?? []) as Input[]).map((item) => ({
      action: 'dynamodb:GetItem',
      resource: { table: str((item.Get as Input | undefined)?.TableName) ?? '' },
    }));
  }
  if (operation === 'BatchWriteItem' || operation === 'BatchGetItem') {
    // A batch is authorized per table under the batch's own action.
    return Object.keys((input.RequestItems ?? {}) as Input).map((table) => ({
      action: `dynamodb:${operation}`,
      resource: { table },
    }));
  }
  const table = str(input.TableName) ?? '';
  const index = str(input.IndexName);
  return [{ action: `dynamodb:${operation}`, resource: index ? { table, index } : { table } }];
};

const SQS_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'sqs:SendMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
};

const sqsRequests = (operation: string, input: Input): IamRequest[] => {
  const action = SQS_ACTIONS[operation] ?? `sqs:${operation}`;
  const url = str(input.QueueUrl);
  if (url) return [{ action, resource: { queueUrl: url } }];
  return [{ action, resource: { queueName: str(input.QueueName) ?? '' } }];
};

const S3_OBJECT_ACTIONS: Record<string, string> = {
  HeadObject: 's3:GetObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
};
const S3_BUCKET_ACTIONS: Record<string, string> = {
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
};

const s3Requests = (operation: string, input: Input): IamRequest[] => {
  const bucket = str(input.Bucket) ?? '';
  if (operation === 'DeleteObjects') {
    const objects = ((input.Delete as Input | undefined)?.Objects ?? []) as Input[];
    return objects.map((o) => ({ action: 's3:DeleteObject', resource: { bucket, key: str(o.Key) ?? '' } }));
  }
  if (operation === 'CopyObject') {
    const [sourceBucket = '', ...rest] = decodeURIComponent(str(input.CopySource) ?? '')
      .replace(/^\//, '')
      .split('/');
    return [
      { action: 's3:GetObject', resource: { bucket: sourceBucket, key: rest.join('/') } },
      { action: 's3:PutObject', resource: { bucket, key: str(input.Key) ?? '' } },
    ];
  }
  const bucketAction = S3_BUCKET_ACTIONS[operation];
  if (bucketAction || input.Key === undefined) {
    return [{ action: bucketAction ?? `s3:${operation}`, resource: { bucket } }];
  }
  return [
    {
      action: S3_OBJECT_ACTIONS[operation] ?? `s3:${operation}`,
      resource: { bucket, key: str(input.Key) ?? '' },
    },
  ];
};

const SERVICES: Record<string, { prefix: string; requests: (op: string, input: Input) => IamRequest[] }> = {
  DynamoDBClient: { prefix: 'dynamodb', requests: dynamoRequests },
  SQSClient: { prefix: 'sqs', requests: sqsRequests },
  S3Client: { prefix: 's3', requests: s3Requests },
};

/** The IAM requests AWS authorizes for one SDK call (client and command class names as the SDK names them). */
export const iamRequestsOf = (clientName: string, commandName: string, input: Input): RecordedCall => {
  const operation = commandName.replace(/Command$/, '');
  const service = SERVICES[clientName];
  if (!service) {
    const prefix = clientName.replace(/Client$/, '').toLowerCase();
    return {
      component: '',
      service: prefix,
      operation,
      requests: [{ action: `${prefix}:${operation}`, resource: { bucket: '' } }],
    };
  }
  return { component: '', service: service.prefix, operation, requests: service.requests(operation, input) };
};

const prepared = new Set<string>();
const fileOf = (dir: string) => {
  if (!prepared.has(dir)) {
    mkdirSync(dir, { recursive: true });
    prepared.add(dir);
  }
  return join(dir, `calls-${process.pid}.jsonl`);
};

/**
 * The directory calls are recorded to, when recording is on. Read from the environment directly:
 * a test-only switch, never set in AWS, that must reach every client of a test process.
 */
export const callLogDir = (): string | undefined => process.env.AWS_CALL_LOG_DIR || undefined;

interface Stack {
  add(middleware: unknown, options: { step: 'initialize'; name: string; override: boolean }): void;
}

/**
 * Adds the recorder to a client's middleware stack. A call is attributed to `component` when the
 * client was built for one (the runner, the AI Lambda), else to the AsyncLocalStorage context
 * (the local API gateway runs each route and the authorizer in theirs); calls of neither (test
 * setup, assertions) are not recorded.
 */
export const addCallRecorder = (stack: Stack, dir: string, component?: string): void => {
  stack.add(
    (
      next: (args: { input: Input }) => Promise<unknown>,
      context: { clientName?: string; commandName?: string },
    ) =>
      async (args: { input: Input }) => {
        const who = component ?? currentComponent();
        if (who && context.clientName && context.commandName) {
          const call = {
            ...iamRequestsOf(context.clientName, context.commandName, args.input),
            component: who,
          };
          appendFileSync(fileOf(dir), `${JSON.stringify(call)}\n`);
        }
        return next(args);
      },
    { step: 'initialize', name: 'awsCallRecorder', override: true },
  );
};
