import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '#shared/adapters/aws-clients.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { spoolPrefix } from './incoming-spool.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';

// Real Baileys against the simulator: incoming messages while SQS is down are spooled to S3 and
// delivered in order once it is back; a takeover whose listing fails still resumes its sessions.

/** A TCP proxy in front of the SQS stand-in that can be switched off (connections refused and cut). */
const startSwitchableProxy = async (target: URL) => {
  const open = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    setDown(value: boolean) {
      down = value;
      if (value) for (const s of open) s.destroy();
    },
    close: () => {
      for (const s of open) s.destroy();
      server.close();
    },
  };
};

let h: Harness;
let runner: Runner | undefined;
let proxy: Awaited<ReturnType<typeof startSwitchableProxy>>;
const extraClients: AwsClients[] = [];
const PHONE = '4915100000777';
const CONTACT = '4915177777777';
let sessionId: string;
const seen: Record<string, unknown>[] = [];
const collect = async () => {
  seen.push(...(await h.incoming()));
  return seen;
};

beforeAll(async () => {
  h = await startHarness();
  proxy = await startSwitchableProxy(new URL(h.runnerEnv.SQS_ENDPOINT as string));
  runner = await startRunner(loadConfig(RunnerEnv, { ...h.runnerEnv, SQS_ENDPOINT: proxy.url }), {
    socketOverrides: FAST_SOCKET,
  });
}, 60_000);
afterAll(async () => {
  await runner?.shutdown();
  for (const c of extraClients) {
    c.dynamo.destroy();
    c.sqs.destroy();
    c.s3.destroy();
  }
  proxy?.close();
  await h?.close();
});

describe('incoming durability', () => {
  it('spools incoming messages to S3 while SQS is down and delivers them in order once it is back', async () => {
    sessionId = (await h.call('POST', '/init', { chatbotId: 'spool-bot' })).body.sessionId;
    const qr = await h.waitFor('a QR', async () => (await h.sessions.get(sessionId))?.qr);
    await h.sim.scanQr(PHONE, qr);
    await h.waitFor('CONNECTED', async () => (await h.sessions.get(sessionId))?.status === 'CONNECTED');

    proxy.setDown(true);
    const texts = ['while down 1', 'while down 2', 'while down 3'];
    for (const text of texts) await h.sim.sendText(CONTACT, PHONE, text);
    await h.waitFor(
      'three spooled messages',
      async () => (await runner?.objects.list(spoolPrefix(sessionId)))?.length === 3,
    );
    expect((await collect()).filter((m) => texts.includes(m.text as string))).toEqual([]);

    proxy.setDown(false);
    await h.waitFor(
      'the spooled messages in the queue',
      async () => {
        await collect();
        return texts.every((t) => seen.some((m) => m.text === t));
      },
      45_000,
    );
    const delivered = seen.filter((m) => texts.includes(m.text as string));
    expect(delivered.map((m) => m.text)).toEqual(texts);
    expect(delivered.every((m) => m.sessionId === sessionId)).toBe(true);
    await h.waitFor(
      'the spool emptied',
      async () => (await runner?.objects.list(spoolPrefix(sessionId)))?.length === 0,
    );
    // Back to direct publishing.
    await h.sim.sendText(CONTACT, PHONE, 'after the outage');
    await h.waitFor('direct again', async () => (await collect()).some((m) => m.text === 'after the outage'));
    expect(runner?.outbox.spooledSessions()).toEqual([]);
  }, 120_000);

  it('resumes the shard when listing its sessions fails at takeover; /healthz is 503 until then', async () => {
    const before = (await h.sessions.get(sessionId))?.connectedAt ?? '';
    await runner?.shutdown();
    runner = undefined;
    const clients = createAwsClients({
      DYNAMODB_ENDPOINT: h.runnerEnv.DYNAMODB_ENDPOINT,
      SQS_ENDPOINT: h.runnerEnv.SQS_ENDPOINT,
      S3_ENDPOINT: h.runnerEnv.S3_ENDPOINT,
    });
    extraClients.push(clients);
    let listFailures = 3;
    const send = clients.dynamo.send.bind(clients.dynamo) as (...a: unknown[]) => Promise<unknown>;
    clients.dynamo.send = ((command: { input?: { IndexName?: string } }, ...rest: unknown[]) => {
      if (command.input?.IndexName === 'gsi1' && listFailures-- > 0)
        return Promise.reject(
          Object.assign(new Error('DynamoDB unavailable'), { name: 'InternalServerError' }),
        );
      return send(command, ...rest);
    }) as never;
    runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), { socketOverrides: FAST_SOCKET, clients });
    const statuses: number[] = [];
    const health = async () => {
      const status = (await fetch(`http://127.0.0.1:${runner?.healthPort}/healthz`)).status;
      if (statuses.at(-1) !== status) statuses.push(status);
      return status;
    };
    // Sampled from the first poll on: sampled only once the failures were used up, a quick retry
    // could already have made it healthy, and the 503 went unseen (a flaky failure under load).
    await h.waitFor('healthy after the takeover', async () => (await health()) === 200 && listFailures < 0);
    expect(statuses).toContain(503);
    await h.waitFor('CONNECTED again', async () => {
      const s = await h.sessions.get(sessionId);
      return s?.status === 'CONNECTED' && (s.connectedAt ?? '') > before;
    });
    expect(await health()).toBe(200);
  }, 120_000);
});
