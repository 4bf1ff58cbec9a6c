import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  keptErrors,
  MAPPED_ERRORS,
  queryCompatibleErrors,
  retryableErrors,
  withoutUnmappedErrors,
} from './bundle-sdk-errors.ts';
import { REPO_ROOT } from './paths.ts';

const clientFile = (client: string, file: string) =>
  readFileSync(join(REPO_ROOT, 'node_modules/@aws-sdk', `client-${client}`, 'dist-es', file), 'utf8');
const kept = (client: string) =>
  keptErrors(clientFile(client, 'schemas/schemas_0.js'), clientFile(client, 'models/errors.js'));
const registered = (source: string) =>
  [...source.matchAll(/^n0_registry\.registerError\(\w+\$, (\w+)\);$/gm)].map(([, name]) => name);

describe('the SDK errors the Lambda bundles keep registered', () => {
  it('keeps the DynamoDB condition failures our adapters read and the error the SDK retries by its class', () => {
    const dynamo = kept('dynamodb');
    for (const name of [
      'ConditionalCheckFailedException',
      'TransactionCanceledException',
      'ReplicatedWriteConflictException',
    ]) {
      expect(dynamo.has(name), name).toBe(true);
    }
    const schemas = clientFile('dynamodb', 'schemas/schemas_0.js');
    const left = registered(withoutUnmappedErrors(schemas, dynamo));
    expect(left.sort()).toEqual([
      'ConditionalCheckFailedException',
      'ReplicatedWriteConflictException',
      // Its schema carries an awsQueryError code (`Throttling`): kept by that rule, though DynamoDB's
      // protocol is not query-compatible.
      'ThrottlingException',
      'TransactionCanceledException',
    ]);
    // Mapped by name only: no longer registered, the name reaches the adapters as the error code.
    expect(registered(schemas)).toContain('ProvisionedThroughputExceededException');
    expect(left).not.toContain('ProvisionedThroughputExceededException');
  });

  it('keeps the S3 errors our adapters test with instanceof, and Bedrock’s error retried by its class', () => {
    expect(
      [...kept('s3')]
        .filter((name) => registered(clientFile('s3', 'schemas/schemas_0.js')).includes(name))
        .sort(),
    ).toEqual(['NoSuchKey', 'NotFound']);
    expect(retryableErrors(clientFile('bedrock-runtime', 'models/errors.js'))).toEqual([
      'ModelNotReadyException',
    ]);
  });

  it('keeps the SQS errors whose query-compatible code is not their name (the protocol names them by registration)', () => {
    const schemas = clientFile('sqs', 'schemas/schemas_0.js');
    const query = queryCompatibleErrors(schemas);
    expect(query).toContain('QueueDoesNotExist'); // AWS.SimpleQueueService.NonExistentQueue
    expect(query).toContain('KmsThrottled'); // KMS.ThrottlingException
    expect(query).toContain('QueueNameExists'); // QueueAlreadyExists
    // Same code as name: unregistered, the name is unchanged.
    expect(query).not.toContain('RequestThrottled');
    expect(query).not.toContain('ReceiptHandleIsInvalid');
  });

  it('leaves the service exception and every other line of the module as they were', () => {
    const source = [
      'const _s_registry = new TypeRegistry(_s);',
      '_s_registry.registerError(FooServiceException$, FooServiceException);',
      'n0_registry.registerError(Kept$, Kept);',
      'n0_registry.registerError(Dropped$, Dropped);',
      'export var Dropped$ = [-3, n0, _D, 0, [], []];',
    ].join('\n');
    expect(withoutUnmappedErrors(source, new Set(['Kept']))).toBe(
      [
        'const _s_registry = new TypeRegistry(_s);',
        '_s_registry.registerError(FooServiceException$, FooServiceException);',
        'n0_registry.registerError(Kept$, Kept);',
        '',
        'export var Dropped$ = [-3, n0, _D, 0, [], []];',
      ].join('\n'),
    );
    expect([...MAPPED_ERRORS].every((name) => keptErrors('', '').has(name))).toBe(true);
  });
});
