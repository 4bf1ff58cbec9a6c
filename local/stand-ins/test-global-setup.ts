import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { startFauxqs } from 'fauxqs';
import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';
import { freePort } from './free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    fauxqsEndpoint: string;
    /** Answers 200 once the run's stand-ins serve, 500 with the reason when one did not start. */
    standInsReady: string;
  }
}

/**
 * One DynamoDB Local and one fauxqs (SQS + S3) for the whole test run; each test file provisions
 * its own tables. Vitest runs every project's global setup before the first test of the run, so
 * `npm test` would wait for the JVM (seconds, most of this setup) before its unit tests: the JVM
 * starts here but is not waited for; an integration file waits for it in its setup file
 * (`test-stand-ins-ready.ts`), by when the unit tests have usually covered its start.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamoPort = await freePort();
  const dynamo: Promise<DynamoDbLocal> = startDynamoDbLocal({ port: dynamoPort });
  // Read by the readiness server and the teardown; this keeps a failed start from being unhandled.
  dynamo.catch(() => undefined);
  const fauxqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
  const ready = createServer((_req, res) => {
    dynamo.then(
      () => res.writeHead(200).end('ready'),
      (error: unknown) => res.writeHead(500).end(`DynamoDB Local did not start: ${String(error)}`),
    );
  });
  await new Promise<void>((resolve) => ready.listen(0, '127.0.0.1', resolve));
  project.provide('dynamoEndpoint', `http://127.0.0.1:${dynamoPort}`);
  project.provide('fauxqsEndpoint', `http://127.0.0.1:${fauxqs.port}`);
  project.provide('standInsReady', `http://127.0.0.1:${(ready.address() as AddressInfo).port}/`);
  return async () => {
    ready.closeAllConnections();
    ready.close();
    await Promise.all([
      dynamo.then(
        (d) => d.stop(),
        () => undefined,
      ),
      fauxqs.stop(),
    ]);
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
