import { rmSync } from 'node:fs';
import { basename } from 'node:path';
import { startFauxqs } from 'fauxqs';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from './dynamodb-local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    fauxqsEndpoint: string;
  }
}

/** One DynamoDB Local and one fauxqs (SQS + S3) for the whole test run; each test file provisions its own tables. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamo, fauxqs] = await Promise.all([
    startDynamoDbLocal(),
    startFauxqs({ port: 0, host: '127.0.0.1', logger: false }),
  ]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('fauxqsEndpoint', `http://127.0.0.1:${fauxqs.port}`);
  return async () => {
    await Promise.all([dynamo.stop(), fauxqs.stop()]);
    await checkIamConformance();
  };
}

/**
 * The IAM conformance check, after every test of the run has recorded its AWS calls: each call a
 * component made must be allowed by that component's role in the synthesized CDK app. A refusal
 * fails the run (exit code 1) with the component, action and resource. A run of a few files
 * checks what those files recorded.
 */
const checkIamConformance = async (): Promise<void> => {
  const dir = process.env.AWS_CALL_LOG_DIR;
  if (!dir) return;
  const { readRecordedCalls, checkRecordedCalls } = await import('../../infra/iam/recorded-calls.ts');
  const { formatRefusals } = await import('../../infra/iam/conformance.ts');
  const calls = readRecordedCalls(dir);
  const refusals = checkRecordedCalls(calls);
  if (refusals.length === 0) {
    if (calls.length > 0) {
      const components = new Set(calls.map((c) => c.component)).size;
      console.log(`IAM conformance: ${calls.length} AWS calls of ${components} components, all allowed`);
    }
    // The run's own temporary folder (see vitest.config.ts); one given by the caller is kept.
    if (basename(dir).startsWith('aws-calls-')) rmSync(dir, { recursive: true, force: true });
    return;
  }
  process.exitCode = 1;
  console.error(
    `\nIAM conformance: ${refusals.length} call(s) the deployed roles would refuse (recorded in ${dir}):\n${formatRefusals(refusals)}\n`,
  );
};
