import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { type Simulator, start as startSimulator } from '#local/simulator/index.ts';
import { freePort } from '#local/stand-ins/free-port.ts';
import { provisionQueues, provisionTables } from '#local/stand-ins/provision.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { type SqsFifoDouble, startSqsFifoDouble } from '#shared/testing/sqs-fifo-double.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { type DynamoHook, startDynamoHook } from './dynamodb-hook.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { startVisibilityClamp, type VisibilityClamp } from './visibility-clamp.ts';

const ROOT = join(import.meta.dirname, '..');

/** One runner process of the stack, as ECS runs it. */
export interface RunnerProcess {
  child: ChildProcess;
  healthUrl: string;
  exited: Promise<void>;
  alive(): boolean;
}

/**
 * The system on loopback for fault scenarios: DynamoDB, SQS and S3 each behind a TCP proxy that a
 * scenario can cut; DynamoDB also behind a hook that fails or hangs chosen requests; SQS is the
 * FIFO double (whole groups per receive, visibility that can be clamped short, outages); the
 * simulator, its WebSocket behind a TCP proxy too (WhatsApp unreachable); the tenant API in this
 * process; runners as child processes that scenarios start, kill -9, freeze and stop.
 */
export interface FaultStack {
  sim: Simulator;
  api: LocalApi;
  sqs: SqsFifoDouble;
  clamp: VisibilityClamp;
  proxies: { dynamodb: TcpProxy; sqs: TcpProxy; s3: TcpProxy; whatsapp: TcpProxy };
  dynamoHook: DynamoHook;
  sessions: DynamoSessionStore;
  messages: DynamoMessageStore;
  runnerEnv: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: scenarios read arbitrary JSON answers
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Takes everything the runner published to `incoming.fifo` so far (bodies, parsed). */
  takeIncoming(): Promise<Record<string, unknown>[]>;
  /** `entry`: a bundled runner (`main.mjs`) instead of `session-runner/main.ts` under tsx. */
  startRunner(extraEnv?: Record<string, string>, entry?: string): Promise<RunnerProcess>;
  runners(): RunnerProcess[];
  close(): Promise<void>;
}

export interface FaultStackOptions {
  /** DynamoDB Local and an S3 stand-in (fauxqs or s3rver), started by the caller. */
  dynamoEndpoint: string;
  s3Endpoint: string;
  logDir: string;
}

/** Starts the fault stack on the given stand-ins, with fresh tables, queues and bucket. */
export const startFaultStack = async (options: FaultStackOptions): Promise<FaultStack> => {
  mkdirSync(options.logDir, { recursive: true });
  const prefix = `f${randomBytes(4).toString('hex')}`;
  const double = await startSqsFifoDouble();
  const clamp = await startVisibilityClamp(double.endpoint);
  const dynamoHook = await startDynamoHook(options.dynamoEndpoint);
  const proxies = {
    dynamodb: await startTcpProxy(dynamoHook.endpoint),
    sqs: await startTcpProxy(clamp.endpoint),
    s3: await startTcpProxy(options.s3Endpoint),
  };
  const direct = {
    dynamo: new DynamoDBClient({ endpoint: options.dynamoEndpoint }),
    sqs: new SQSClient({ endpoint: double.endpoint }),
    s3: new S3Client({ endpoint: options.s3Endpoint, forcePathStyle: true }),
  };
  const tables = await provisionTables(direct.dynamo, prefix);
  // Queue URLs name the proxy, so every SQS call (the SDK may use the URL as its endpoint) goes through it.
  const viaProxy = (url: string) => url.replace(double.endpoint, proxies.sqs.endpoint);
  const queues = Object.fromEntries(
    Object.entries(await provisionQueues(direct.sqs, `${prefix}-`, 1)).map(([k, v]) => [
      k,
      v.split(',').map(viaProxy).join(','),
    ]),
  );
  const bucket = `${prefix}-auth`;
  await direct.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const sim = await startSimulator({ port: 0 });
  // Runners reach the simulator's WebSocket through a proxy a scenario can cut.
  const simUrl = new URL(sim.url);
  const whatsapp = await startTcpProxy(`http://${simUrl.host}`);
  Object.assign(proxies, { whatsapp });
  simUrl.port = new URL(whatsapp.endpoint).port;

  const env: Record<string, string> = {
    DYNAMODB_ENDPOINT: proxies.dynamodb.endpoint,
    SQS_ENDPOINT: proxies.sqs.endpoint,
    S3_ENDPOINT: proxies.s3.endpoint,
    // The API too: routes with files (media) use the bucket.
    AUTH_STATE_BUCKET: bucket,
    ...tables,
    ...queues,
  };
  Object.assign(process.env, env, {
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    // One tenant drives every scenario: far above the per-tenant limits on purpose.
    INIT_RATE_PER_MINUTE: '100000',
    SEND_RATE_PER_MINUTE: '100000',
    SESSIONS_PER_TENANT: '100000',
  });
  const api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(direct.dynamo, env.TENANTS_TABLE as string));
  const { apiKey } = await createTenant({ tenants, clock: systemClock }, 'faults');

  const runnerEnv: Record<string, string> = {
    ...env,
    WHATSAPP_WS_URL: simUrl.toString(),
    WHATSAPP_SIMULATOR_ROOT_KEY: sim.rootPublicKeyHex,
    // As `npm start` has it: a killed runner's shard is taken over within seconds, and a runner
    // busy with Signal work on a loaded 2-core machine still renews in time (4 s did not).
    LEASE_DURATION_MS: '10000',
    HEARTBEAT_MS: '1000',
    SEND_MIN_INTERVAL_MS: '0', // pacing off
    SESSION_STAGGER_MS: '0',
    COMMAND_WAIT_SECONDS: '1',
    SEND_WAIT_MS: '30000',
    LOG_LEVEL: 'WARN',
    // Warnings too (lease calls failing, sessions closing): what a failed row is diagnosed from.
    POWERTOOLS_LOG_LEVEL: process.env.FAULTS_RUNNER_LOG_LEVEL ?? 'WARN',
  };
  const started: RunnerProcess[] = [];
  let count = 0;

  const startRunner = async (
    extraEnv: Record<string, string> = {},
    entry?: string,
  ): Promise<RunnerProcess> => {
    count += 1;
    const healthPort = await freePort();
    const args = entry
      ? ['--enable-source-maps', entry]
      : ['--import', 'tsx', join(ROOT, 'session-runner/main.ts')];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        ...runnerEnv,
        RUNNER_ID: `fault-runner-${count}`,
        HEALTH_PORT: String(healthPort),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(join(options.logDir, `runner-${count}.log`));
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const runner: RunnerProcess = {
      child,
      healthUrl: `http://127.0.0.1:${healthPort}/healthz`,
      exited,
      alive: () => child.exitCode === null && child.signalCode === null,
    };
    started.push(runner);
    return runner;
  };

  return {
    sim,
    api,
    sqs: double,
    clamp,
    proxies: proxies as FaultStack['proxies'],
    dynamoHook,
    sessions: new DynamoSessionStore(new DynamoTable(direct.dynamo, env.SESSIONS_TABLE as string)),
    messages: new DynamoMessageStore(new DynamoTable(direct.dynamo, env.MESSAGES_TABLE as string)),
    runnerEnv,
    call: async (method, path, body) => {
      const res = await fetch(`${api.url}/whatsapp-qr${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    takeIncoming: () =>
      drainQueue(direct.sqs, queues.INCOMING_QUEUE_URL?.replace(proxies.sqs.endpoint, double.endpoint)),
    startRunner,
    runners: () => started,
    close: async () => {
      for (const r of started) {
        if (r.alive()) {
          r.child.kill('SIGCONT');
          r.child.kill('SIGKILL');
        }
      }
      await Promise.all(started.map((r) => r.exited));
      await api.close();
      await sim.stop();
      for (const p of Object.values(proxies)) await p.close();
      await clamp.close();
      await dynamoHook.close();
      await double.stop();
      direct.dynamo.destroy();
      direct.sqs.destroy();
      direct.s3.destroy();
    },
  };
};
