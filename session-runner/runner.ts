import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { hostname } from 'node:os';
import { type AwsClients, createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { purgeSessionMessages } from '#shared/adapters/dynamodb-session-purge.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { SqsCommandPublisher } from '#shared/adapters/sqs-command-publisher.ts';
import type { RunnerConfig } from '#shared/config.ts';
import { qrToTerminal } from '#shared/domain/qr-image.ts';
import { createLogger } from '#shared/logger.ts';
import { startHealthServer } from './health.ts';
import { IncomingMedia } from './incoming-media.ts';
import { IncomingOutbox } from './incoming-outbox.ts';
import { sqsIncomingPublisher } from './incoming-publisher.ts';
import { IncomingSpool } from './incoming-spool.ts';
import { emfMetrics } from './metrics.ts';
import { OutgoingMedia } from './outgoing-media.ts';
import { SendSweeper } from './send-sweeper.ts';
import type { SessionContext } from './session.ts';
import { Supervisor } from './supervisor.ts';
import { type MediaSource, mediaSourceFor } from './whatsapp-media.ts';

/** The process around the runner; injected so that shutdown is testable without a real process. */
export interface RunnerProcess {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): void;
}

export interface Runner {
  supervisor: Supervisor;
  healthPort: number;
  objects: S3ObjectStore;
  outbox: IncomingOutbox;
  /** Drains and stops everything; resolves when done (bounded by `SHUTDOWN_LIMIT_MS`). */
  shutdown(): Promise<void>;
}

const SHUTDOWN_LIMIT_MS = 20_000;
/** After the sessions are closed: time to put what is still pending of the incoming messages in S3. */
const OUTBOX_CLOSE_MS = 5_000;

const shardsOf = (spec: string, count: number): number[] =>
  spec === 'all'
    ? [...Array(count).keys()]
    : spec
        .split(',')
        .map((s) => Number(s.trim()))
        .filter((n) => n >= 0 && n < count);

/**
 * The runner's composition root: clients once, stores, the supervisor, the health check, and the
 * SIGTERM path (stop receiving, finish in-flight sends, flush auth state, close without logging
 * out, release leases, exit). `overrides` lets tests shorten Baileys' timeouts.
 */
export const startRunner = async (
  config: RunnerConfig,
  options: {
    process?: RunnerProcess;
    clients?: AwsClients;
    socketOverrides?: SessionContext['socketOverrides'];
  } = {},
): Promise<Runner> => {
  const clients = options.clients ?? createAwsClients(config, { component: 'runner' });
  const logger = createLogger('session-runner');
  const table = (name: string) => new DynamoTable(clients.dynamo, name);
  const objects = new S3ObjectStore(clients.s3, config.AUTH_STATE_BUCKET);
  // The tenants' files: under media/<tenantId>/ of the same bucket (its KMS key, a retention rule).
  const mediaStore = new S3MediaStore(clients.s3, config.AUTH_STATE_BUCKET);
  const mediaSource = mediaSourceFor(config.WHATSAPP_WS_URL, config.WHATSAPP_SIMULATOR_MEDIA_CA);
  const socketOverrides = socketSettings(mediaSource, options.socketOverrides);
  const timers = {
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  };
  const metrics = emfMetrics();
  const outbox = new IncomingOutbox({
    sendToQueue: sqsIncomingPublisher(clients.sqs, config.INCOMING_QUEUE_URL),
    spool: new IncomingSpool(objects, randomBytes(4).toString('hex'), Date.now),
    metrics,
    logger,
    timers,
  });
  const version = config.WHATSAPP_VERSION?.split('.').map(Number) as [number, number, number] | undefined;
  const runnerId = config.RUNNER_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const sessions = new DynamoSessionStore(table(config.SESSIONS_TABLE));
  const messages = new DynamoMessageStore(table(config.MESSAGES_TABLE));
  const commands = new SqsCommandPublisher(clients.sqs, config.COMMAND_QUEUE_URLS);
  const supervisor = new Supervisor({
    runnerId,
    shards: shardsOf(config.RUNNER_SHARDS, config.COMMAND_QUEUE_URLS.length),
    commandQueueUrls: config.COMMAND_QUEUE_URLS,
    sqs: clients.sqs,
    leases: new DynamoLeaseStore(table(config.LEASES_TABLE)),
    leaseDurationMs: config.LEASE_DURATION_MS,
    staggerMs: config.SESSION_STAGGER_MS,
    heartbeatMs: config.HEARTBEAT_MS,
    sendWaitMs: config.SEND_WAIT_MS,
    receiveWaitSeconds: config.COMMAND_WAIT_SECONDS,
    commandVisibilitySeconds: config.COMMAND_VISIBILITY_SECONDS,
    purgeSessionMessages: async (sessionId) => {
      const deleted = await purgeSessionMessages(table(config.MESSAGES_TABLE), sessionId);
      logger.info('session messages purged', { sessionId, items: deleted });
    },
    sweepSends: (shard, fence) => {
      const sweeper = new SendSweeper({
        shard,
        sessions,
        messages,
        commands,
        fence,
        now: Date.now,
        timers,
        logger,
        metrics,
      });
      sweeper.start();
      return sweeper;
    },
    session: {
      sessions,
      messages,
      objects,
      publishIncoming: outbox.publish,
      // Files go to the auth-state bucket under media/<tenantId>/ (its KMS key, a retention rule).
      incomingMedia: new IncomingMedia({
        store: mediaStore,
        source: mediaSource,
        logger,
        timers,
      }),
      // Files the tenant sends: its uploads (same bucket) or its URLs (public only, but locally).
      outgoingMedia: new OutgoingMedia({
        store: mediaStore,
        allowLoopback: config.WEBHOOK_ALLOW_LOOPBACK,
        logger,
      }),
      recoverIncoming: (sessionId) => outbox.recover(sessionId),
      metrics,
      logger,
      timers,
      now: Date.now,
      runnerId,
      waWebSocketUrl: config.WHATSAPP_WS_URL,
      ...(version && { waVersion: version }),
      sendMinIntervalMs: config.SEND_MIN_INTERVAL_MS,
      backoff: { baseMs: 1000, capMs: 60_000 },
      ...(socketOverrides && { socketOverrides }),
      ...(config.PRINT_QR === 'terminal' && {
        onQr: (sessionId: string, qr: string) =>
          void qrToTerminal(qr).then((art) =>
            process.stdout.write(`\nScan with WhatsApp (session ${sessionId}):\n${art}\n`),
          ),
      }),
    },
  });
  let draining = false;
  const health = await startHealthServer(
    config.HEALTH_PORT,
    () => (draining ? 'draining' : supervisor.ready() ? 'ok' : 'resuming'),
    () => supervisor.status().flatMap((s) => (s.fence === undefined ? [] : [s.shard])),
  );
  supervisor.start();
  logger.info('runner started', { shards: supervisor.status().map((s) => s.shard) });

  let done: Promise<void> | undefined;
  const shutdown = () => {
    done ??= (async () => {
      draining = true;
      // Each step logged: a deploy's handover time is read from these (bench p3).
      logger.info('runner draining');
      const limit = new Promise<void>((r) => setTimeout(r, SHUTDOWN_LIMIT_MS).unref());
      await Promise.race([supervisor.shutdown(), limit]);
      logger.info('sessions closed and leases released');
      // The sockets are closed: nothing new comes in. What is still pending goes to the S3 spool.
      await outbox.close(OUTBOX_CLOSE_MS);
      health.server.close();
      health.server.closeAllConnections();
      logger.info('runner stopped');
    })();
    return done;
  };
  const onSignal = () => void shutdown().then(() => options.process?.exit(0));
  options.process?.on('SIGTERM', onSignal);
  options.process?.on('SIGINT', onSignal);
  return { supervisor, healthPort: health.port, objects, outbox, shutdown };
};

/**
 * The socket settings: the tests' overrides, and in simulator mode an agent that trusts the
 * simulator's media CA for Baileys' uploads (only for a loopback WhatsApp URL, as downloads).
 */
const socketSettings = (
  source: MediaSource,
  overrides: SessionContext['socketOverrides'],
): SessionContext['socketOverrides'] => {
  if (!source.simulatorCa) return overrides;
  return { fetchAgent: new Agent({ ca: source.simulatorCa }), ...overrides };
};
