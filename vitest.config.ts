import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Every test process talks only to loopback stand-ins: dummy credentials, no SDK or CDK chatter.
// Set here, in the main process, so the global setup and the forked workers all inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER'; // what s3rver (the local S3 stand-in) insists on; the others accept any
process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
process.env.AWS_REGION ??= 'us-east-1';
// Every AWS call a component makes in this run is recorded here; the global teardown checks them
// against the roles of the synthesized CDK app (the IAM conformance check, infra/iam/).
process.env.AWS_CALL_LOG_DIR ??= mkdtempSync(join(tmpdir(), 'aws-calls-'));

export default defineConfig({
  test: {
    include: ['{shared,functions,session-runner,local,infra}/**/*.test.ts', 'faults/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The teardown synthesizes the CDK app for the IAM conformance check.
    teardownTimeout: 120_000,
    globalSetup: ['./local/stand-ins/test-global-setup.ts'],
    pool: 'forks',
  },
});
