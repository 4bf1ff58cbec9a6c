import { createServer, type Server, type Socket } from 'node:net';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '#shared/contracts/commands.ts';
import { createLogger } from '#shared/logger.ts';
import type { Lease } from '#shared/ports/lease-store.ts';
import { aSession } from '#shared/testing/builders.ts';
import { InMemoryLeaseStore } from '#shared/testing/in-memory-lease-store.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { InMemoryMessageStore, InMemorySessionStore } from '#shared/testing/in-memory-stores.ts';
import { startHealthServer } from './health.ts';
import type { SessionContext } from './session.ts';
import { Supervisor } from './supervisor.ts';

// The supervisor's takeover and lease loop without WhatsApp: sockets point at a server that accepts
// and never answers (so they stay "connecting"), and a session counts as resumed once it loaded its
// auth state (recoverIncoming is called right before it connects).

const held: Socket[] = [];
let silentServer: Server;
let silentUrl: string;
beforeAll(async () => {
  silentServer = createServer((s) => held.push(s));
  await new Promise<void>((r) => silentServer.listen(0, '127.0.0.1', r));
  silentUrl = `ws://127.0.0.1:${(silentServer.address() as { port: number }).port}/ws/chat`;
});
afterAll(() => {
  for (const s of held) s.destroy();
  silentServer?.close();
});

const logger = createLogger('test');
logger.setLogLevel('SILENT');

/** A command queue double: hands out what `push` put in, once; empty receives wait a little. */
const queueDouble = () => {
  const pending: Command[] = [];
  let n = 0;
  const sqs = {
    send: async (cmd: { constructor: { name: string } }) => {
      if (cmd.constructor.name !== 'ReceiveMessageCommand') return {};
      const batch = pending.splice(0);
      if (batch.length === 0) await new Promise((r) => setTimeout(r, 20));
      return {
        Messages: batch.map((c) => ({
          MessageId: `m${++n}`,
          ReceiptHandle: `r${n}`,
          Body: JSON.stringify(c),
          Attributes: { MessageGroupId: c.sessionId },
        })),
      };
    },
  } as unknown as SQSClient;
  return { sqs, push: (c: Command) => pending.push(c) };
};

class FlakySessionStore extends InMemorySessionStore {
  listFailures = 0;
  override async listByShard(shard: number) {
    if (this.listFailures-- > 0) throw new Error('DynamoDB unavailable');
    return super.listByShard(shard);
  }
}

const supervisors: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.shutdown()));
});

const setup = (
  o: {
    sessions?: number;
    leases?: InMemoryLeaseStore;
    objects?: InMemoryObjectStore;
    /** Holds every session right before it connects until it resolves. */
    gate?: Promise<void>;
    resumeConcurrency?: number;
  } = {},
) => {
  const sessions = new FlakySessionStore();
  for (let i = 0; i < (o.sessions ?? 0); i++) {
    const s = aSession({ status: 'CONNECTED', chatbotId: `bot-${i}` });
    sessions.items.set(s.sessionId, s);
  }
  const resumed: string[] = [];
  let active = 0;
  let maxActive = 0;
  const queue = queueDouble();
  const ctx: SessionContext = {
    sessions,
    messages: new InMemoryMessageStore(),
    objects: o.objects ?? new InMemoryObjectStore(),
    publishIncoming: async () => undefined,
    recoverIncoming: async (sessionId) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await o.gate;
      await new Promise((r) => setTimeout(r, 40));
      active--;
      resumed.push(sessionId);
    },
    metrics: () => undefined,
    logger,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) },
    now: Date.now,
    waWebSocketUrl: silentUrl,
    socketOverrides: { connectTimeoutMs: 600_000 },
    sendMinIntervalMs: 0,
    backoff: { baseMs: 60_000, capMs: 60_000 },
  };
  const supervisor = new Supervisor({
    runnerId: 'r1',
    shards: [0],
    commandQueueUrls: ['http://127.0.0.1:1/000000000000/commands-0.fifo'],
    sqs: queue.sqs,
    leases: o.leases ?? new InMemoryLeaseStore(),
    leaseDurationMs: 3000,
    ...(o.resumeConcurrency !== undefined && { resumeConcurrency: o.resumeConcurrency }),
    staggerMs: 0,
    heartbeatMs: 60_000,
    receiveWaitSeconds: 1,
    session: ctx,
  });
  supervisors.push(supervisor);
  return { supervisor, sessions, resumed, queue, maxActive: () => maxActive };
};

const waitFor = async (what: string, check: () => boolean, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Supervisor takeover', () => {
  it('retries listing the shard until it works, resumes every session, and is not ready until then', async () => {
    const { supervisor, sessions, resumed } = setup({ sessions: 5 });
    sessions.listFailures = 2;
    supervisor.start();
    await waitFor('the lease', () => supervisor.status()[0]?.fence !== undefined);
    expect(supervisor.ready()).toBe(false);
    await waitFor('every session resumed', () => new Set(resumed).size === 5);
    await waitFor('ready', () => supervisor.ready());
    expect(new Set(resumed)).toEqual(new Set(sessions.items.keys()));
  });

  it('shows the sessions a previous owner left CONNECTED as CONNECTING under its fence before it reopens them', async () => {
    const leases = new InMemoryLeaseStore();
    const previous = (await leases.acquire(0, 'r0', Date.now(), 1)) as Lease; // expired at once
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const { supervisor, sessions, resumed } = setup({ sessions: 3, leases, gate });
    for (const s of sessions.items.values())
      Object.assign(s, { fence: previous.fence, connectedAt: s.createdAt });
    supervisor.start();
    await waitFor('stamped', () => [...sessions.items.values()].every((s) => s.fence === previous.fence + 1));
    // Held before their sockets open: what the record shows is the stamp's doing alone.
    expect(resumed).toEqual([]);
    for (const s of sessions.items.values()) {
      expect(s.status).toBe('CONNECTING');
      expect(s.connectedAt).toBe(s.createdAt); // the last login is kept
    }
    open();
    await waitFor('every session resumed', () => resumed.length === 3);
  });

  it('resumes a large shard concurrently, with a bound', async () => {
    // Three times the bound (4 here, 16 by default): unbounded, all 12 would load at once. 60
    // sessions under the default bound took a minute of the unit project on loaded cores.
    const { supervisor, resumed, maxActive } = setup({ sessions: 12, resumeConcurrency: 4 });
    supervisor.start();
    // Generous: real sockets on a loaded 2-core machine. Concurrency is what is asserted, not time.
    // Distinct ids: a lease lost under load and taken again resumes sessions a second time.
    await waitFor('every session resumed', () => new Set(resumed).size === 12, 60_000);
    expect(maxActive()).toBeGreaterThan(1);
    expect(maxActive()).toBeLessThanOrEqual(4);
  }, 90_000);

  it("redrives a crashed runner's spool for a session that is not reopened (stopped since)", async () => {
    const objects = new InMemoryObjectStore();
    const { supervisor, sessions, resumed } = setup({ sessions: 1, objects });
    const stopped = aSession({ status: 'DISCONNECTED', chatbotId: 'stopped-bot' });
    sessions.items.set(stopped.sessionId, stopped);
    await objects.put(`spool/${stopped.sessionId}/000000000000001-00000000-r0.json`, Buffer.from('{}'));
    supervisor.start();
    await waitFor('ready', () => supervisor.status()[0]?.fence !== undefined && supervisor.ready());
    await waitFor('its spool recovered', () => resumed.includes(stopped.sessionId));
    expect(resumed).toHaveLength(2);
    expect((await sessions.get(stopped.sessionId))?.status).toBe('DISCONNECTED'); // not reopened
  });

  it('gives up a hung lease renewal and keeps the lease loop going', async () => {
    const leases = new InMemoryLeaseStore();
    let renewals = 0;
    const renew = leases.renew.bind(leases);
    leases.renew = (lease: Lease, now: number, ms: number) => {
      renewals++;
      return renewals === 1 ? new Promise(() => undefined) : renew(lease, now, ms);
    };
    const { supervisor } = setup({ leases });
    supervisor.start();
    await waitFor('renewals after the hung one', () => renewals >= 3);
    await waitFor('the shard held', () => supervisor.status()[0]?.fence !== undefined);
  });

  it('forgets a session whose logout failed, so that a later start opens a new one', async () => {
    const objects = new InMemoryObjectStore();
    objects.delete = async () => {
      throw new Error('S3 delete failed');
    };
    const { supervisor, sessions, resumed, queue } = setup({ sessions: 1, objects });
    const [sessionId] = [...sessions.items.keys()] as [string];
    supervisor.start();
    await waitFor('resumed', () => resumed.length === 1 && supervisor.status()[0]?.sessions === 1);
    queue.push({ v: 1, type: 'stop', sessionId, commandId: 'c1', logout: true });
    await waitFor('forgotten after the failed logout', () => supervisor.status()[0]?.sessions === 0);
    queue.push({ v: 1, type: 'start', sessionId, commandId: 'c2' });
    await waitFor('opened again', () => resumed.length === 2);
  });
});

describe('/healthz', () => {
  it('answers 503 while resuming or draining and 200 when serving, naming the shards held', async () => {
    let state: 'ok' | 'resuming' | 'draining' = 'resuming';
    let held: number[] = [];
    const { server, port } = await startHealthServer(
      0,
      () => state,
      () => held,
    );
    try {
      const status = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
      expect(await status()).toBe(503);
      state = 'ok';
      expect(await status()).toBe(200);
      held = [0, 2];
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({
        status: 'ok',
        held: [0, 2],
      });
      state = 'draining';
      expect(await status()).toBe(503);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
