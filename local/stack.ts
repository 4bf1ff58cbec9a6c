import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
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
import { superviseRunner } from './runner-process.ts';
import { type Simulator, start as startSimulator } from './simulator/index.ts';
import { clearRuntimeFiles, readDevKey, saveDevKey, writePids, writeStackState } from './stack-files.ts';
import { startDynamoDbLocal } from './stand-ins/dynamodb-local.ts';
import { freePort } from './stand-ins/free-port.ts';
import { provisionQueues, provisionTables } from './stand-ins/provision.ts';
import { LOCAL_AWS_CREDENTIALS, startS3Local } from './stand-ins/s3-local.ts';

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
  Object.assign(process.env, LOCAL_AWS_CREDENTIALS, { AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' });
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    clearRuntimeFiles(options.dataDir);
  };
  try {
    const dynamo = await startDynamoDbLocal({ dbPath: join(options.dataDir, 'dynamodb') });
    stops.push(dynamo.stop);
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
    };
    Object.assign(process.env, env);
    stops.push(await startIncomingPoller(env));

    const { key, isNew } = await ensureDevTenant(options, env);

    const simulator =
      options.whatsapp === 'simulator' ? await startSimulator({ port: options.simulatorPort }) : undefined;
    if (simulator) stops.push(simulator.stop);
    const pids = { stack: process.pid, dynamodb: dynamo.process.pid ?? 0, runner: 0 };
    const runner = superviseRunner(
      {
        ...env,
        HEALTH_PORT: String(await freePort()),
        PRINT_QR: 'terminal',
        // Shorter than on AWS, so a crashed runner's sessions come back quickly while developing.
        LEASE_DURATION_MS: '10000',
        ...(simulator && {
          WHATSAPP_WS_URL: simulator.url,
          WHATSAPP_SIMULATOR_ROOT_KEY: simulator.rootPublicKeyHex,
        }),
        ...options.runnerEnv,
      },
      (pid) => {
        pids.runner = pid;
        writePids(options.dataDir, pids);
      },
    );
    stops.push(runner.stop);

    let dynamoUp = true;
    dynamo.process.once('exit', () => {
      dynamoUp = false;
    });
    const healthy = () => dynamoUp && runner.up();
    const consolePages = serveConsole({ devApiKey: key, simulatorUrl: simulator?.httpUrl });
    const api = await startLocalApi({
      port: options.port,
      extra: async (req, res, url) =>
        (await consolePages(req, res, url)) || serveExtra(req, res, url, healthy),
    });
    stops.push(api.close);

    writeStackState(options.dataDir, { pid: process.pid, apiUrl: api.url, env });
    return { api, simulator, devApiKey: key, devKeyIsNew: isNew, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};

/** Feeds `incoming.fifo` to the AI handler in SQS-event batches, as the Lambda event source mapping does. */
const startIncomingPoller = async (env: Record<string, string>) => {
  // Imported once the env is set, like the API handlers, so their composition root reads it.
  const { handler } = await import('#functions/queues/incoming-ai.ts');
  const clients = createAwsClients(env);
  const poller = await startSqsEventSource({
    sqs: clients.sqs,
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

const serveExtra = (
  _req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  healthy: () => boolean,
): boolean => {
  if (url.pathname !== '/healthz') return false;
  const ok = healthy();
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: ok ? 'ok' : 'degraded' }));
  return true;
};
