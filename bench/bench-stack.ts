import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startFauxqs } from 'fauxqs';
import { startDynamoDbLocal } from '#local/stand-ins/dynamodb-local.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { type Linked, pool, waitFor } from '../faults/drive.ts';
import { type FaultStack, type RunnerProcess, startFaultStack } from '../faults/fault-stack.ts';
import { bundleRunner } from '../infra/bundle-runner.ts';
import { type CountingProxy, startCountingProxy } from './counting-proxy.ts';
import { gcHookEnv } from './proc-usage.ts';

// The production lease (the fault stack's 10 s one was lost again and again by a runner linking
// a hundred sessions on two loaded cores, which then dropped its sessions).
const LEASE_MS = 30_000;

/** A runner child process of the bench, with the env its GC hook answers on. */
export interface BenchRunner {
  process: RunnerProcess;
  gcEnv: Record<string, string>;
}

/**
 * The fault stack (faults/fault-stack.ts: simulator, API in this process, runners as child
 * processes) with a counting HTTP hop in front of DynamoDB Local and of the S3 stand-in; SQS is
 * counted at the stack's own HTTP hop (the visibility clamp).
 */
export interface BenchStack {
  stack: FaultStack;
  counters: { dynamodb: CountingProxy; s3: CountingProxy; sqs: { counts(): Record<string, number> } };
  /** The message store read past the counters: the bench's own polling is not counted. */
  uncountedMessages: DynamoMessageStore;
  leaseSeconds: number;
  /** DynamoDB Local's JVM (p3 reports its CPU over a restore). */
  dynamoDbLocalPid: number;
  /**
   * Starts a runner and waits for its health check; `extraEnv` adds to (or overrides) its env.
   * `bundled`: the runner as the production image runs it (one esbuild bundle, `bundleRunner`),
   * built once per stack, instead of the TypeScript sources under tsx.
   */
  startRunner(extraEnv?: Record<string, string>, options?: { bundled?: boolean }): Promise<BenchRunner>;
  /** Builds the bundle `startRunner({}, { bundled: true })` runs, so a measurement does not include it. */
  bundleRunner(): Promise<string>;
  close(): Promise<void>;
}

/** Starts the stand-ins and the fault stack on them; logs go to `logDir`. */
export const startBenchStack = async (logDir: string): Promise<BenchStack> => {
  const dynamo = await startDynamoDbLocal();
  const s3 = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
  const counters = {
    dynamodb: await startCountingProxy(dynamo.endpoint),
    s3: await startCountingProxy(`http://127.0.0.1:${s3.port}`),
  };
  const stack = await startFaultStack({
    dynamoEndpoint: counters.dynamodb.endpoint,
    s3Endpoint: counters.s3.endpoint,
    logDir: join(logDir, 'runners'),
  });
  let count = 0;
  let bundle: Promise<string> | undefined;
  const bundled = () => {
    bundle ??= bundleRunner(join(logDir, 'runner-bundle')).then((b) => b.outfile);
    return bundle;
  };
  const uncounted = new DynamoDBClient({ endpoint: dynamo.endpoint });
  return {
    uncountedMessages: new DynamoMessageStore(
      new DynamoTable(uncounted, stack.runnerEnv.MESSAGES_TABLE as string),
    ),
    stack,
    counters: { ...counters, sqs: stack.clamp },
    leaseSeconds: LEASE_MS / 1000,
    dynamoDbLocalPid: dynamo.jvmPid,
    bundleRunner: bundled,
    startRunner: async (extraEnv = {}, options = {}) => {
      count += 1;
      const gcEnv = gcHookEnv(`runner-${count}`);
      const entry = options.bundled ? await bundled() : undefined;
      const process = await stack.startRunner(
        {
          ...gcEnv,
          LEASE_DURATION_MS: String(LEASE_MS),
          // A handful of lines per runner (lease acquired, shard resumed, shutdown steps): p3 reads
          // its phases from them.
          POWERTOOLS_LOG_LEVEL: 'INFO',
          // As `npm start` has it: the runner trusts the simulator's media host (m1 sends and receives files).
          WHATSAPP_SIMULATOR_MEDIA_CA: stack.sim.mediaCaPem,
          ...extraEnv,
        },
        entry,
      );
      await waitFor(
        'the runner to answer its health check',
        async () => (await fetch(process.healthUrl).catch(() => undefined))?.ok ?? false,
        120_000,
      );
      return { process, gcEnv };
    },
    close: async () => {
      await stack.close();
      uncounted.destroy();
      await counters.dynamodb.close();
      await counters.s3.close();
      await s3.stop();
      await dynamo.stop();
    },
  };
};

/**
 * Links `count` sessions through the tenant API (init, QR, the simulator's phone scans), a few at a
 * time, and waits until every one is CONNECTED.
 */
export const linkMany = async (
  stack: FaultStack,
  tag: string,
  first: number,
  count: number,
  base: number,
): Promise<Linked[]> => {
  const indexes = Array.from({ length: count }, (_, i) => first + i);
  const linked = await pool(indexes, 4, async (i) => {
    const init = await stack.call('POST', '/init', { chatbotId: `${tag}-${i}` });
    if (init.status >= 300) throw new Error(`init answered ${init.status}: ${JSON.stringify(init.body)}`);
    const sessionId = init.body.sessionId as string;
    const phone = String(base + i);
    // On a loaded machine a QR can turn over between reading and scanning it: scan the next one.
    let tried: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const qr = await waitFor(
        `a QR for ${tag}-${i}`,
        async () => {
          const current = (await stack.sessions.get(sessionId))?.qr;
          return current !== tried && current;
        },
        180_000,
      );
      try {
        await stack.sim.scanQr(phone, qr);
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        tried = qr;
      }
    }
    return { sessionId, phone, contact: String(base + 500_000 + i) };
  });
  await waitFor(
    `${count} sessions CONNECTED`,
    async () =>
      (await Promise.all(linked.map((l) => stack.sessions.get(l.sessionId)))).every(
        (s) => s?.status === 'CONNECTED',
      ),
    600_000,
  );
  return linked;
};
