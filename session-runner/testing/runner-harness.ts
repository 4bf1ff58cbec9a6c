import { type ChildProcess, spawn } from 'node:child_process';
import { CreateBucketCommand as CreateS3Bucket } from '@aws-sdk/client-s3';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { type Simulator, start as startSimulator } from '#local/simulator/index.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { silenceLibsignal } from '../silence-libsignal.ts';
import { installWhatsAppTrust } from '../whatsapp-trust.ts';

/** Baileys timeouts short enough for tests, long enough for a loaded 2-core machine. */
export const FAST_SOCKET = {
  connectTimeoutMs: 10_000,
  defaultQueryTimeoutMs: 10_000,
  keepAliveIntervalMs: 5_000,
  qrTimeout: 15_000,
};

export interface Harness {
  aws: TestAws;
  sim: Simulator;
  api: LocalApi;
  apiKey: string;
  sessions: DynamoSessionStore;
  messages: DynamoMessageStore;
  /** The env a runner process needs (RunnerEnv keys). */
  runnerEnv: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary JSON answers
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  waitFor<T>(
    what: string,
    check: () => Promise<T | undefined | false> | T | undefined | false,
    timeoutMs?: number,
  ): Promise<T>;
  incoming(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Stand-ins, the simulator (trusted through the product's hook), and the tenant API, all on loopback. */
export const startHarness = async (): Promise<Harness> => {
  silenceLibsignal();
  const aws = await provisionTestAws();
  const bucket = `auth-${Math.random().toString(16).slice(2, 10)}`;
  await aws.clients.s3.send(new CreateS3Bucket({ Bucket: bucket }));
  const sim = await startSimulator({ port: 0 });
  installWhatsAppTrust({ waWebSocketUrl: sim.url, simulatorRootKeyHex: sim.rootPublicKeyHex });
  Object.assign(process.env, aws.env, {
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    // One tenant makes every init of a test file, often more than the default 10 a minute.
    INIT_RATE_PER_MINUTE: '1000',
  });
  const api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  const { apiKey } = await createTenant({ tenants, clock: systemClock }, 'runner-tests');
  const runnerEnv = {
    ...aws.env,
    AUTH_STATE_BUCKET: bucket,
    WHATSAPP_WS_URL: sim.url,
    WHATSAPP_SIMULATOR_ROOT_KEY: sim.rootPublicKeyHex,
    HEALTH_PORT: '0',
    LEASE_DURATION_MS: '4000',
    SEND_MIN_INTERVAL_MS: '50',
    SESSION_STAGGER_MS: '0',
    HEARTBEAT_MS: '1000',
    COMMAND_WAIT_SECONDS: '1',
    SEND_WAIT_MS: '20000',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
  loadConfig(RunnerEnv, runnerEnv); // fail early on a harness mistake

  const waitFor: Harness['waitFor'] = async (what, check, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined && value !== false) return value as never;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    aws,
    sim,
    api,
    apiKey,
    sessions: new DynamoSessionStore(new DynamoTable(aws.clients.dynamo, aws.env.SESSIONS_TABLE as string)),
    messages: new DynamoMessageStore(new DynamoTable(aws.clients.dynamo, aws.env.MESSAGES_TABLE as string)),
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
      return { status: res.status, body: await res.json() };
    },
    waitFor,
    incoming: () => drainQueue(aws.clients.sqs, aws.env.INCOMING_QUEUE_URL),
    close: async () => {
      await api.close();
      await sim.stop();
      aws.destroy();
    },
  };
};

export interface RunnerChild {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** The runner as its own process (`session-runner/main.ts`), as ECS runs it. */
export const spawnRunner = (env: Record<string, string>): RunnerChild => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'session-runner/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c) => {
    output = (output + c).slice(-20_000);
  });
  child.stderr?.on('data', (c) => {
    output = (output + c).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
};
