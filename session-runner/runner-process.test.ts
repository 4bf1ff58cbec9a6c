import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { type Harness, type RunnerChild, spawnRunner, startHarness } from './testing/runner-harness.ts';

// The runner as a process of its own: crashes, overlapping deploys and a frozen zombie.

let h: Harness;
const children: RunnerChild[] = [];
const PHONE = '4915100000002';
const CONTACT = '4915188888888';
let sessionId: string;

const runner = () => {
  // What a killed runner held comes back after 6 s, not the default 30 (the kill -9 case waits for it).
  const r = spawnRunner({ ...h.runnerEnv, COMMAND_VISIBILITY_SECONDS: '6' });
  children.push(r);
  return r;
};
const device = () => h.sim.stats().devices.find((d) => d.jid.startsWith(PHONE));
const connected = async () => (await h.sessions.get(sessionId))?.status === 'CONNECTED';
const leaseNow = () =>
  new DynamoLeaseStore(new DynamoTable(h.aws.clients.dynamo, h.runnerEnv.LEASES_TABLE as string)).get(0);
const leaseFence = async () => (await leaseNow())?.fence ?? 0;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await h?.close();
});

describe('runner processes', () => {
  it('links through a runner process', async () => {
    runner();
    sessionId = (await h.call('POST', '/init', { chatbotId: 'process-bot' })).body.sessionId;
    const qr = await h.waitFor('a QR', async () => (await h.sessions.get(sessionId))?.qr);
    await h.sim.scanQr(PHONE, qr);
    await h.waitFor('CONNECTED', connected);
  }, 60_000);

  it('survives kill -9 in the middle of traffic: no new QR, no lost command, no duplicate, still decrypts', async () => {
    const texts = Array.from({ length: 6 }, (_, i) => `burst ${i}`);
    const ids: string[] = [];
    for (const text of texts)
      ids.push((await h.call('POST', '/send', { sessionId, to: CONTACT, message: text })).body.messageId);
    await h.waitFor('the first send', () => h.sim.inbox(CONTACT).length > 0);
    children.at(-1)?.child.kill('SIGKILL');
    const before = (await h.sessions.get(sessionId))?.connectedAt ?? '';
    runner();
    await h.waitFor(
      'reconnected',
      async () => {
        const s = await h.sessions.get(sessionId);
        return s?.status === 'CONNECTED' && (s.connectedAt ?? '') > before;
      },
      45_000,
    );
    await h.waitFor(
      'every burst message',
      () => texts.every((t) => h.sim.inbox(CONTACT).some((m) => m.text === t)),
      45_000,
    );
    const inbox = h.sim.inbox(CONTACT);
    expect(inbox.filter((m) => texts.includes(m.text))).toHaveLength(texts.length);
    // A text the killed runner sent while its SENT write waited for the receipt (pacing) is
    // stored DELIVERED once the new runner gets that receipt (WhatsApp gives an unacked receipt
    // again): wait for it rather than reading the statuses at the moment the texts arrived.
    const statuses = async () => Promise.all(ids.map(async (id) => (await h.messages.get(id))?.status));
    await h.waitFor(
      'every burst message stored as sent or further',
      async () => (await statuses()).every((s) => s === 'SENT' || s === 'DELIVERED' || s === 'READ'),
      45_000,
    );
    for (const status of await statuses()) expect(['SENT', 'DELIVERED', 'READ']).toContain(status);
    expect((await h.sessions.get(sessionId))?.qr).toBeUndefined();
    await h.sim.sendText(CONTACT, PHONE, 'after the crash');
    await h.waitFor('incoming after the crash', async () =>
      (await h.incoming()).find((m) => m.text === 'after the crash'),
    );
  }, 120_000);

  it('lets a second runner wait while the first holds the shard, then take over without a replacement', async () => {
    const first = children.at(-1) as RunnerChild;
    const fence = await leaseFence();
    const held = (await leaseNow()) ?? expect.fail('no lease');
    const second = runner();
    // Until the lease held when the second started would have run out: the first renewed it.
    await h.waitFor(
      'a renewal past the lease the second runner found',
      async () => Date.now() > held.expiresAt && ((await leaseNow())?.expiresAt ?? 0) > held.expiresAt,
    );
    expect(await leaseFence()).toBe(fence);
    expect(device()?.connections).toBe(1);
    const replacements = device()?.replacements ?? 0;
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await h.waitFor('the second runner holds the shard', async () => (await leaseFence()) > fence);
    await h.waitFor(
      'CONNECTED through the second runner',
      async () => (await connected()) && device()?.connections === 1,
    );
    expect(device()?.replacements).toBe(replacements);
    expect(second.child.exitCode).toBeNull();
  }, 90_000);

  it('ignores a runner frozen past its lease: after it resumes it does not reconnect, its late writes are ignored', async () => {
    const zombie = children.at(-1) as RunnerChild;
    const before = await h.sessions.get(sessionId);
    const replacementsBefore = device()?.replacements ?? 0;
    zombie.child.kill('SIGSTOP');
    const fence = await leaseFence();
    runner();
    await h.waitFor('a new owner', async () => (await leaseFence()) > fence, 30_000);
    // The new owner's own login, not the record alone: the takeover stamps the new fence on a record
    // that still says CONNECTED, and the frozen runner's socket still counts at the simulator until
    // the owner's login replaces it. Waiting for less let the zombie's close pass for the owner's.
    await h.waitFor('CONNECTED through the new owner', async () => {
      const s = await h.sessions.get(sessionId);
      return (
        s?.status === 'CONNECTED' &&
        s.fence === fence + 1 &&
        (s.connectedAt ?? '') > (before?.connectedAt ?? '')
      );
    });
    await h.waitFor('one connection', () => device()?.connections === 1);
    const ownerConnectedAt = (await h.sessions.get(sessionId))?.connectedAt;
    const replacements = device()?.replacements ?? 0;
    expect(replacements - replacementsBefore).toBeLessThanOrEqual(1); // the zombie's socket, once
    const losses = zombie.output().split('"LeaseLost"').length;
    // Sampled every 50 ms from the resume on, so that a drop which heals within seconds is seen.
    const counts: number[] = [];
    const sampler = setInterval(() => counts.push(device()?.connections ?? 0), 50);
    try {
      zombie.child.kill('SIGCONT');
      await h.waitFor(
        'the resumed runner notices its lease is gone',
        () => zombie.output().split('"LeaseLost"').length > losses,
      );
      // Past the resumed runner's next heartbeats and lease ticks (1 s each in the harness).
      const from = counts.length;
      await h.waitFor('80 samples after the loss', () => counts.length >= from + 80);
    } finally {
      clearInterval(sampler);
    }
    expect(counts.filter((n) => n !== 1)).toEqual([]);
    expect(device()?.replacements).toBe(replacements);
    // Still the owner's first connection: it did not drop and come back between two samples.
    const session = await h.sessions.get(sessionId);
    expect(session).toMatchObject({ status: 'CONNECTED', fence: fence + 1, connectedAt: ownerConnectedAt });
    const sent = await h.call('POST', '/send', { sessionId, to: CONTACT, message: 'from the new owner' });
    await h.waitFor('delivered by the new owner', () =>
      h.sim.inbox(CONTACT).some((m) => m.text === 'from the new owner'),
    );
    expect(sent.status).toBe(202);
  }, 90_000);
});
