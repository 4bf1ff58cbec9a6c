import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { type Harness, type RunnerChild, spawnRunner, startHarness } from './testing/runner-harness.ts';

// A rolling deploy as ECS runs it (minHealthyPercent 100, maxHealthyPercent 200): the new runner
// process starts while the old one holds the shard, then the old one gets SIGTERM. The lease is
// long here (120 s, renewed every 40 s), so a handover within seconds can only come from the old
// runner releasing its lease at once and the new one retrying a lease it does not hold every 2 s.

const LEASE_DURATION_MS = '120000';
/** Much less than the 40 s a waiting runner took to retry before (a third of the lease). */
const HANDOVER_LIMIT_MS = 15_000;
const PHONES = ['4915100000031', '4915100000032'];

let h: Harness;
const children: RunnerChild[] = [];
const sessionIds: string[] = [];

const runner = (env: Record<string, string> = {}) => {
  const r = spawnRunner({ ...h.runnerEnv, LEASE_DURATION_MS, ...env });
  children.push(r);
  return r;
};
const devices = () => PHONES.map((phone) => h.sim.stats().devices.find((d) => d.jid.startsWith(phone)));
const lease = () =>
  new DynamoLeaseStore(new DynamoTable(h.aws.clients.dynamo, h.runnerEnv.LEASES_TABLE as string)).get(0);
const allConnectedWith = async (fence: number) => {
  for (const id of sessionIds) {
    const s = await h.sessions.get(id);
    if (s?.status !== 'CONNECTED' || s.fence !== fence) return false;
  }
  return devices().every((d) => d?.connections === 1);
};

beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await h?.close();
});

describe('rolling runner deploy', () => {
  it('hands the shard to the new runner within seconds of SIGTERM to the old one, without a replacement or a new QR', async () => {
    const first = runner();
    for (const [i, phone] of PHONES.entries()) {
      const { sessionId } = (await h.call('POST', '/init', { chatbotId: `deploy-bot-${i}` })).body;
      sessionIds.push(sessionId);
      const qr = await h.waitFor('a QR', async () => (await h.sessions.get(sessionId))?.qr);
      await h.sim.scanQr(phone, qr);
    }
    const before = (await lease()) ?? expect.fail('the first runner holds no lease');
    await h.waitFor('both sessions CONNECTED', () => allConnectedWith(before.fence));

    // The new task starts and tries the lease once (refused: the old one holds it), as it does
    // when ECS starts it next to the old one; its log says when that first attempt is made.
    const second = runner({ POWERTOOLS_LOG_LEVEL: 'INFO' });
    await h.waitFor('the second runner started', () => second.output().includes('runner started'));
    const replacements = devices().map((d) => d?.replacements ?? 0);

    first.child.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect(await first.exited).toBe(0);
    const drainedMs = Date.now() - stoppedAt;
    const taken = await h.waitFor(
      'the second runner holds the shard',
      async () => {
        const now = await lease();
        return now && now.fence > before.fence ? now : undefined;
      },
      HANDOVER_LIMIT_MS,
    );
    const heldMs = Date.now() - stoppedAt;
    expect(taken.owner).not.toBe(before.owner);
    await h.waitFor('both sessions CONNECTED through the second runner', () => allConnectedWith(taken.fence));
    const onlineMs = Date.now() - stoppedAt;
    console.log(
      `rolling deploy: old runner drained in ${drainedMs} ms, lease taken ${heldMs} ms and sessions CONNECTED ${onlineMs} ms after SIGTERM`,
    );

    // Never two sockets of one device: the simulator replaced none, and no QR came back.
    expect(devices().map((d) => d?.replacements ?? 0)).toEqual(replacements);
    for (const id of sessionIds) expect((await h.sessions.get(id))?.qr).toBeUndefined();
    expect(second.child.exitCode).toBeNull();
  }, 120_000);
});
