import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { startLocalApi } from '#local/api-gateway.ts';
import { start as startSimulator } from '#local/simulator/index.ts';
import { startDynamoDbLocal } from '#local/stand-ins/dynamodb-local.ts';
import { provisionQueues, provisionTables } from '#local/stand-ins/provision.ts';
import { startRunner } from '#runner/runner.ts';
import { silenceLibsignal } from '#runner/silence-libsignal.ts';
import { installWhatsAppTrust } from '#runner/whatsapp-trust.ts';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// `npm run bench`: the runner with real Baileys against the simulator, on the stand-ins.
// Figures are ratios against baselines measured in this same run, never absolute timings:
//  - memory per linked session, against the runner's own idle footprint;
//  - S3 PUTs per message (sent + received), against the one PUT per message the design targets;
//  - API latency of GET /status (authorizer + handler + DynamoDB), against GET /healthz on the same server.

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 50);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 40);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);

const waitFor = async <T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};
const settleHeap = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return process.memoryUsage();
};
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const main = async () => {
  silenceLibsignal();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  const dynamo = await startDynamoDbLocal();
  const fauxqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
  const sim = await startSimulator({ port: 0 });
  installWhatsAppTrust({ waWebSocketUrl: sim.url, simulatorRootKeyHex: sim.rootPublicKeyHex });
  const endpoints = {
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    SQS_ENDPOINT: `http://127.0.0.1:${fauxqs.port}`,
    S3_ENDPOINT: `http://127.0.0.1:${fauxqs.port}`,
  };
  const env = {
    ...endpoints,
    ...(await provisionTables(new DynamoDBClient({ endpoint: endpoints.DYNAMODB_ENDPOINT }), 'bench')),
    ...(await provisionQueues(new SQSClient({ endpoint: endpoints.SQS_ENDPOINT }), 'bench-', 1)),
    AUTH_STATE_BUCKET: 'bench-auth',
    WHATSAPP_WS_URL: sim.url,
    WHATSAPP_SIMULATOR_ROOT_KEY: sim.rootPublicKeyHex,
    HEALTH_PORT: '0',
    SEND_MIN_INTERVAL_MS: '0',
    SESSION_STAGGER_MS: '0',
    COMMAND_WAIT_SECONDS: '1',
    // One tenant links every bench session at once: above the per-tenant limits on purpose.
    INIT_RATE_PER_MINUTE: '100000',
    SESSIONS_PER_TENANT: '100000',
  };
  const clients = createAwsClients(endpoints);
  await clients.s3.send(new CreateBucketCommand({ Bucket: 'bench-auth' }));
  Object.assign(process.env, env);
  const api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(
    new DynamoTable(clients.dynamo, (env as Record<string, string>).TENANTS_TABLE as string),
  );
  const { apiKey } = await createTenant({ tenants, clock: systemClock }, 'bench');
  const sessions = new DynamoSessionStore(
    new DynamoTable(clients.dynamo, (env as Record<string, string>).SESSIONS_TABLE as string),
  );
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}/whatsapp-qr${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return (await res.json()) as Record<string, string>;
  };

  const runner = await startRunner(loadConfig(RunnerEnv, env));
  const idle = await settleHeap();

  // Link SESSIONS sessions through the API and the simulator's phones.
  const ids: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const { sessionId } = await call('POST', '/init', { chatbotId: `bench-${i}` });
    const qr = await waitFor('a QR', async () => (await sessions.get(sessionId as string))?.qr);
    await sim.scanQr(String(4915200000000 + i), qr);
    ids.push(sessionId as string);
  }
  await waitFor(
    'all connected',
    async () => {
      const all = await Promise.all(ids.map((id) => sessions.get(id)));
      return all.every((s) => s?.status === 'CONNECTED');
    },
    300_000,
  );
  const linked = await settleHeap();
  const perSessionRss = (linked.rss - idle.rss) / SESSIONS;
  const perSessionHeap = (linked.heapUsed - idle.heapUsed) / SESSIONS;

  // Messages both ways on the first session, counting S3 PUTs.
  const phone = '4915200000000';
  const putsBefore = runner.objects.requests.put;
  for (let i = 0; i < MESSAGES / 2; i++)
    await call('POST', '/send', { sessionId: ids[0], to: '4915299999999', message: `out ${i}` });
  for (let i = 0; i < MESSAGES / 2; i++) await sim.sendText('4915299999998', phone, `in ${i}`);
  await waitFor('all sent', async () => sim.inbox('4915299999999').length >= MESSAGES / 2);
  await waitFor(
    'all received',
    async () => sim.stats().messagesIn >= 0 && runner.objects.requests.put - putsBefore >= MESSAGES / 2,
  );
  await new Promise((r) => setTimeout(r, 2000));
  const putsPerMessage = (runner.objects.requests.put - putsBefore) / MESSAGES;

  // API latency: a route through authorizer + handler + DynamoDB against the bare health path.
  const time = async (fn: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const t = performance.now();
      await fn();
      samples.push(performance.now() - t);
    }
    return median(samples);
  };
  const baseline = await time(() => fetch(`${api.url}/whatsapp-qr/nope`).then((r) => r.arrayBuffer()));
  const status = await time(() => call('GET', `/status/${ids[0]}`));

  console.log(`sessions linked: ${SESSIONS}; runner idle RSS ${mb(idle.rss)} MB`);
  console.log(
    `memory per linked session: RSS ${mb(perSessionRss)} MB, heap ${mb(perSessionHeap)} MB = ${(perSessionRss / idle.rss).toFixed(3)} × the idle runner`,
  );
  console.log(
    `S3 PUTs per message (${MESSAGES} messages, half each way): ${putsPerMessage.toFixed(2)} = ${putsPerMessage.toFixed(2)} × the 1-PUT target`,
  );
  console.log(
    `GET /status median latency: ${(status / baseline).toFixed(2)} × an unrouted request on the same server`,
  );

  await runner.shutdown();
  await api.close();
  await sim.stop();
  await fauxqs.stop();
  await dynamo.stop();
  process.exit(0);
};

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
