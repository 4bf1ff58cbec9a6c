import { mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import { integrationLanes, integrationTestFiles } from './local/stand-ins/test-projects.ts';
import { LongestFirstSequencer } from './local/stand-ins/test-sequencer.ts';

// Every test process talks only to loopback stand-ins, whatever the caller's shell holds (a DevOps
// user of a CDK project has AWS credentials, a profile and a region exported). Set here, in the main
// process, so the global setup, the forked workers and the processes they spawn all inherit it.
for (const key of Object.keys(process.env)) {
  // Every AWS_* and CDK_* setting of the caller goes: profiles, session tokens, role ARNs, web
  // identity files, container credential URLs, configured endpoints, default accounts and regions.
  if (/^(AWS_|CDK_DEFAULT_)/.test(key) && key !== 'AWS_CALL_LOG_DIR') delete process.env[key];
}
const noFile = join(tmpdir(), 'wa-gateway-tests-no-aws-config');
Object.assign(process.env, {
  // Dummy credentials: what s3rver insists on; the other stand-ins accept any.
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  // No ~/.aws/config or ~/.aws/credentials (profiles, endpoint_url, retry settings) is read.
  AWS_CONFIG_FILE: noFile,
  AWS_SHARED_CREDENTIALS_FILE: noFile,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
  // Every client the product builds refuses a request to anything but loopback (aws-client-defaults.ts).
  AWS_LOOPBACK_ONLY: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  CDK_DISABLE_CLI_TELEMETRY: 'true',
});
// Every AWS call a component makes in this run is recorded here; the integration project's global
// teardown checks them against the roles of the synthesized CDK app (the IAM conformance check).
process.env.AWS_CALL_LOG_DIR ??= mkdtempSync(join(tmpdir(), 'aws-calls-'));

const ALL_TESTS = [
  '{shared,functions,session-runner,local,infra}/**/*.test.ts',
  '{faults,bench}/**/*.test.ts',
];
// Tests that need the stand-ins (DynamoDB Local, fauxqs) or start processes: see test-projects.ts.
const integration = integrationTestFiles(import.meta.dirname);

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The teardown synthesizes the CDK app for the IAM conformance check.
    teardownTimeout: 120_000,
    pool: 'forks',
    // The known slow integration files first, longest first, so the two lanes end together (a clean
    // clone has no durations cached and vitest would run the largest files first).
    sequence: { sequencer: LongestFirstSequencer },
    // `npm test` runs both; `npm run test:unit` runs the unit project alone (no stand-ins).
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ALL_TESTS,
          exclude: [...configDefaults.exclude, ...integration],
          sequence: { groupOrder: 0 },
          // Vitest's default is one file at a time on 2 cores, where a unit file spends much of its
          // time starting its process and on timers: `npm run test:unit` took 66 s with one worker,
          // 32 s with two, 28 s with three (load 6-10).
          maxWorkers: availableParallelism() + 1,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: integration,
          // After the unit files, and several files at a time even on 2 cores (vitest's default there
          // is one): these files mostly wait (sockets, leases, polls, child processes), so more fit
          // beside each other. Measured on 12 integration files at load 11-15: 365 s one at a time,
          // 204 s two at a time, no retries; three on an idle 2-core machine, two on a busy one
          // (integrationLanes in test-projects.ts, with the measurements).
          // This project setting wins over `--maxWorkers`: INTEGRATION_MAX_WORKERS=1 runs them one by one.
          sequence: { groupOrder: 1 },
          maxWorkers: integrationLanes(availableParallelism(), loadavg()[0] ?? 0),
          // Real Baileys, processes and a JVM on 2 shared cores: a test that times out under load
          // gets one more try. A retried test is printed as such; the known flaky ones are listed
          // in the README (Development) and must be fixed, not hidden.
          retry: 1,
          // The stand-ins for the run, then the broker of the e2e files' shared stack (torn down
          // first, so the IAM check of the first teardown sees every call the stack made).
          globalSetup: ['./local/stand-ins/test-global-setup.ts', './local/testing/e2e-stack-broker.ts'],
          // Waits until the stand-ins the global setup started serve (it does not wait for them).
          setupFiles: ['./local/stand-ins/test-stand-ins-ready.ts'],
        },
      },
    ],
  },
});
