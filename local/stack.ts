import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { hashApiKey } from '#shared/domain/ids.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { createTenant, generateApiKey } from '#shared/use-cases/tenants.ts';
import { type LocalApi, startLocalApi } from './api-gateway.ts';
import { serveConsole } from './console/serve-console.ts';
import { startSqsEventSource } from './event-source.ts';
import { checkHealth, type HealthCheck, httpCheck } from './health-checks.ts';
import { superviseRunner } from './runner-process.ts';
import { watchSessionEvents } from './session-events.ts';
import { type Simulator, start as startSimulator } from './simulator/index.ts';
import {
  claimDataDir,
  clearRuntimeFiles,
  readDevKey,
  saveDevKey,
  writePids,
  writeStackState,
} from './stack-files.ts';
import { startDynamoDbLocal } from './stand-ins/dynamodb-local.ts';
import { freePort } from './stand-ins/free-port.ts';
import { provisionQueues, provisionTables } from './stand-ins/provision.ts';
import { LOCAL_AWS_CREDENTIALS, startS3Local } from './stand-ins/s3-local.ts';
import { startWebhookPipeline } from './webhook-pipeline.ts';

export interface StackOptions {
  port: number;
  dataDir: string;
  devApiKey?: string;
  shardCount: number;
  /** `simulator`: the built-in WhatsApp simulator on `simulatorPort`; `real`: WhatsApp itself. */
  whatsapp: 'real' | 'simulator';
  simulatorPort: number;
  /** Extra env for the runner process (tests shorten its timings). */
  runnerEnv?: Record<string, string>;
  /** First retry delay of a failed webhook delivery (WEBHOOK_FIRST_RETRY_SECONDS; tests shorten it). */
  webhookFirstRetrySeconds?: number;
  /** Where readable lines (session events, runner warnings) go; the console by default. */
  print?: (line: string) => void;
}

export interface Stack {
  api: LocalApi;
  simulator?: Simulator;
  devApiKey: string;
  /** Whether the key was made by this start (print it) or given/kept. */
  devKeyIsNew: boolean;
  env: Record<string, string>;
  stop(): Promise<void>;
}

const TABLE_PREFIX = 'local';
export const AUTH_STATE_BUCKET = 'local-auth-state';

/**
 * Starts the whole system on loopback: DynamoDB Local (persisted under DATA_DIR), SQS (fauxqs, in
 * memory), S3 (s3rver, files under DATA_DIR), the tables and queues from the shared definitions, and
 * the tenant API through the real authorizer and handlers.
 */
export const startStack = async (options: StackOptions): Promise<Stack> => {
  mkdirSync(options.dataDir, { recursive: true });
  claimDataDir(options.dataDir); // before anything else: a second start must change nothing
  const print = options.print ?? ((line: string) => console.log(line));
  Object.assign(process.env, LOCAL_AWS_CREDENTIALS, { AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' });
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    clearRuntimeFiles(options.dataDir);
  };
  try {
    const pids = { stack: process.pid, dynamodb: 0, runner: 0 };
    writePids(options.dataDir, pids);
    const dynamo = await startDynamoDbLocal({ dbPath: join(options.dataDir, 'dynamodb') });
    stops.push(dynamo.stop);
    pids.dynamodb = dynamo.jvmPid;
    writePids(options.dataDir, pids);
    const sqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
    stops.push(() => sqs.stop());
    const s3 = await startS3Local({ directory: join(options.dataDir, 's3'), buckets: [AUTH_STATE_BUCKET] });
    stops.push(s3.stop);

    const endpoints = {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      SQS_ENDPOINT: `http://127.0.0.1:${sqs.port}`,
      S3_ENDPOINT: s3.endpoint,
    };
    const env = {
      ...endpoints,
      ...(await provision(endpoints, options.shardCount)),
      AUTH_STATE_BUCKET,
      // Tenants may register webhooks on this machine (http://127.0.0.1:…): the API checks URLs with
      // it and the delivery calls them. Local only: the CDK app sets it to false.
      WEBHOOK_ALLOW_LOOPBACK: 'true',
    };
    Object.assign(process.env, env);
    stops.push(await startIncomingPoller(env));
    // Events to tenants: table streams → fan-out → webhook-deliveries.fifo → signed deliveries.
    stops.push(
      await startWebhookPipeline({
        env: {
          ...env,
          ...(options.webhookFirstRetrySeconds && {
            WEBHOOK_FIRST_RETRY_SECONDS: String(options.webhookFirstRetrySeconds),
          }),
        },
        onError: (where, e) => console.error(`webhooks (${where}):`, e instanceof Error ? e.message : e),
      }),
    );

    const { key, isNew } = await ensureDevTenant(options, env);

    const simulator =
      options.whatsapp === 'simulator'
        ? await startSimulator({ port: options.simulatorPort, dataDir: join(options.dataDir, 'simulator') })
        : undefined;
    if (simulator) stops.push(simulator.stop);
    const runnerHealthPort = await freePort();
    const runner = superviseRunner({
      env: {
        ...env,
        HEALTH_PORT: String(runnerHealthPort),
        PRINT_QR: 'terminal',
        // Shorter than on AWS, so a crashed runner's sessions come back quickly while developing.
        LEASE_DURATION_MS: '10000',
        ...(simulator && {
          WHATSAPP_WS_URL: simulator.url,
          WHATSAPP_SIMULATOR_ROOT_KEY: simulator.rootPublicKeyHex,
          // Media: the runner trusts the simulator's own CA for its loopback media host only.
          WHATSAPP_SIMULATOR_MEDIA_CA: simulator.mediaCaPem,
        }),
        ...options.runnerEnv,
      },
      logFile: join(options.dataDir, 'logs', 'runner.log'),
      print,
      onChange: (pid) => {
        pids.runner = pid;
        writePids(options.dataDir, pids);
      },
    });
    stops.push(runner.stop);
    await waitForRunner(`http://127.0.0.1:${runnerHealthPort}/healthz`, options.shardCount);

    const health = healthChecks(env, {
      runner: async () => {
        if (!runner.up()) throw new Error('the runner process is not running');
        await httpCheck(`http://127.0.0.1:${runnerHealthPort}/healthz`)();
      },
      ...(simulator && { simulator: httpCheck(`${simulator.httpUrl}/root-key`) }),
    });
    stops.push(async () => health.close());
    const consolePages = serveConsole({ devApiKey: key, simulatorUrl: simulator?.httpUrl });
    const api = await startLocalApi({
      port: options.port,
      extra: async (req, res, url) =>
        (await consolePages(req, res, url)) || serveExtra(req, res, url, health.checks),
    });
    stops.push(api.close);

    const eventsClients = createAwsClients(env);
    const events = watchSessionEvents({
      dynamo: eventsClients.dynamo,
      table: (env as Record<string, string>).SESSIONS_TABLE as string,
      print,
    });
    stops.push(async () => {
      events.stop();
      eventsClients.dynamo.destroy();
    });

    writeStackState(options.dataDir, { pid: process.pid, apiUrl: api.url, env });
    return { api, simulator, devApiKey: key, devKeyIsNew: isNew, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};

/**
 * Feeds `incoming.fifo` to the AI handler in SQS-event batches, as the Lambda event source mapping
 * does (`adaptSqs`: the bench's SQS double has no batch actions).
 */
export const startIncomingPoller = async (
  env: Record<string, string>,
  adaptSqs: (sqs: SQSClient) => SQSClient = (sqs) => sqs,
) => {
  // Imported once the env is set, like the API handlers, so their composition root reads it.
  const { handler } = await import('#functions/queues/incoming-ai.ts');
  const clients = createAwsClients(env);
  const poller = await startSqsEventSource({
    sqs: adaptSqs(clients.sqs),
    queueUrl: env.INCOMING_QUEUE_URL as string,
    handler,
    batchSize: 10,
    waitSeconds: 20,
    failedVisibilityTimeout: 10,
    functionName: 'incoming-ai',
    functionTimeoutMs: 60_000,
    onError: (error) => console.error('incoming-ai poller:', error instanceof Error ? error.message : error),
  });
  return async () => {
    await poller.stop();
    clients.sqs.destroy();
  };
};

const provision = async (
  endpoints: { DYNAMODB_ENDPOINT: string; SQS_ENDPOINT: string },
  shardCount: number,
) => {
  const dynamo = new DynamoDBClient({ endpoint: endpoints.DYNAMODB_ENDPOINT });
  const sqs = new SQSClient({ endpoint: endpoints.SQS_ENDPOINT });
  try {
    return {
      ...(await provisionTables(dynamo, TABLE_PREFIX)),
      ...(await provisionQueues(sqs, '', shardCount)),
    };
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
};

/** Makes sure the development key maps to a tenant: the given DEV_API_KEY, the kept one, or a new one. */
const ensureDevTenant = async (options: StackOptions, env: Record<string, string>) => {
  const kept = readDevKey(options.dataDir);
  const key = options.devApiKey ?? kept ?? generateApiKey();
  const clients = createAwsClients(env);
  try {
    const tenants = new DynamoTenantStore(new DynamoTable(clients.dynamo, env.TENANTS_TABLE as string));
    if (!(await tenants.findTenantIdByKeyHash(hashApiKey(key)))) {
      await createTenant({ tenants, clock: systemClock }, 'development', key);
    }
  } finally {
    clients.dynamo.destroy();
  }
  if (!options.devApiKey) saveDevKey(options.dataDir, key);
  return { key, isNew: !options.devApiKey && !kept };
};

/**
 * "ready" means ready: the runner's own health check answers 200 holding every shard (it is the
 * stack's only runner; before its first lease it answers 200 too, then 503 while it resumes).
 */
const waitForRunner = async (url: string, shardCount: number, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      async (response) =>
        response.ok && ((await response.json()) as { held: number[] }).held.length >= shardCount,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`the session runner did not answer ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

/**
 * `/healthz` asks every part for real: DynamoDB Local, SQS and S3 (one cheap call each, on clients
 * of their own that do not retry), the runner, and the simulator when used.
 */
const healthChecks = (env: Record<string, string>, more: Record<string, HealthCheck>) => {
  const handler = { requestTimeout: 1500, connectionTimeout: 1000 };
  const dynamo = new DynamoDBClient({
    endpoint: env.DYNAMODB_ENDPOINT,
    maxAttempts: 1,
    requestHandler: handler,
  });
  const sqs = new SQSClient({ endpoint: env.SQS_ENDPOINT, maxAttempts: 1, requestHandler: handler });
  const { s3 } = createAwsClients(env);
  const checks: Record<string, HealthCheck> = {
    dynamodb: async () => void (await dynamo.send(new ListTablesCommand({ Limit: 1 }))),
    sqs: async () =>
      void (await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: env.INCOMING_QUEUE_URL, AttributeNames: ['QueueArn'] }),
      )),
    s3: async () => void (await s3.send(new HeadBucketCommand({ Bucket: AUTH_STATE_BUCKET }))),
    ...more,
  };
  return {
    checks,
    close: () => {
      dynamo.destroy();
      sqs.destroy();
      s3.destroy();
    },
  };
};

const serveExtra = (
  _req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  checks: Record<string, HealthCheck>,
): boolean => {
  if (url.pathname !== '/healthz') return false;
  void checkHealth(checks).then((report) => {
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: report.ok ? 'ok' : 'degraded',
        ...(!report.ok && { down: report.down }),
        parts: report.parts,
      }),
    );
  });
  return true;
};
