import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, type IManagedPolicy, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { TableDefinition } from '#shared/adapters/table-definitions.ts';

/**
 * Couples every grant with the env variable that tells the code where the resource is, so a
 * function or task never gets a permission without the name, nor a name without the permission.
 * The grants are written out (no `*` actions, no `index/*`): the tables' indexes are known.
 */
export interface BindingTarget extends IGrantable {
  addEnvironment(key: string, value: string): void;
}

export type TableAccess = 'read' | 'readWrite';

export const TABLE_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
];
// TransactWriteItems is authorized through these per-item actions.
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** A table of TABLES and its deployed resource. */
export interface TableBinding {
  definition: TableDefinition;
  table: ITable;
}

/** Grants access to a table and its indexes, and sets its name under the table's env key. */
export const bindTable = (
  target: BindingTarget,
  { definition, table }: TableBinding,
  access: TableAccess,
) => {
  target.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: access === 'read' ? TABLE_READ_ACTIONS : [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS],
      resources: [
        table.tableArn,
        ...definition.indexes.map((index) => `${table.tableArn}/index/${index.name}`),
      ],
    }),
  );
  target.addEnvironment(definition.envKey, table.tableName);
};

/** Lets the target send to every queue and sets `envKey` to the given URL value. */
export const bindQueuesForSending = (
  target: BindingTarget,
  queues: IQueue[],
  envKey: string,
  value: string,
) => {
  for (const queue of queues) queue.grantSendMessages(target);
  target.addEnvironment(envKey, value);
};

/** Lets the target receive and delete from every queue and sets `envKey` to the given URL value. */
export const bindQueuesForConsuming = (
  target: BindingTarget,
  queues: IQueue[],
  envKey: string,
  value: string,
) => {
  for (const queue of queues) queue.grantConsumeMessages(target);
  target.addEnvironment(envKey, value);
};

/**
 * Attaches a bucket's access policy (see AuthStateBucket.readWritePolicy) to the target's role
 * and sets the bucket name under `envKey`.
 */
export const bindBucket = (
  target: BindingTarget & { role: IRole },
  bucket: IBucket,
  policy: IManagedPolicy,
  envKey: string,
) => {
  target.role.addManagedPolicy(policy);
  target.addEnvironment(envKey, bucket.bucketName);
};
