import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  allConnected,
  describeStored,
  duplicateTexts,
  fenceOf,
  type Linked,
  linkSessions,
  pool,
  sendAccepted,
  sleep,
  unsentAfterSettling,
  waitFor,
} from '../drive.ts';
import type { FaultStack, RunnerProcess } from '../fault-stack.ts';
import { type RowResult, row } from '../row.ts';

export interface R1Size {
  sessions: number;
  /** Outbound messages per round (and as many inbound), spread over the sessions. */
  messages: number;
  rounds: number;
  /** The runners' lease (default the stack's 10 s); the full size runs on production's 30 s. */
  leaseMs?: number;
}

/**
 * The simulated ECS restart: the replacement task starts this long after the kill. A time window
 * of the scenario (the shard is unheld meanwhile, as in production), not a wait for a condition.
 */
const ECS_RESTART_MS = 1_000;
/** The kill comes at a random moment up to this long after the deliveries it waits for. */
const KILL_JITTER_MS = 300;

/** The runner that holds the shard now, started when none runs (as ECS would). */
export const currentRunner = async (stack: FaultStack): Promise<RunnerProcess> =>
  stack.runners().find((r) => r.alive()) ?? (await stack.startRunner());

/**
 * r1: kill -9 of the runner at a random moment of each round while every session sends and
 * receives; a new runner starts a second later. Nothing lost, nothing twice (at the contacts and in
 * storage), no new QR, and read receipts of messages sent before each kill still arrive.
 */
/**
 * `FAULTS_R1=4,100,2` (sessions, messages per round, rounds, optionally the lease in ms) sizes r1
 * between short and full.
 */
const sizeFromEnv = (): R1Size | undefined => {
  const [sessions, messages, rounds, leaseMs] = (process.env.FAULTS_R1 ?? '').split(',').map(Number);
  return sessions && messages && rounds
    ? { sessions, messages, rounds, ...(leaseMs && { leaseMs }) }
    : undefined;
};

export const r1KillRunner = async (
  stack: FaultStack,
  requested: R1Size,
  progress: (line: string) => void,
): Promise<RowResult> => {
  const size = sizeFromEnv() ?? requested;
  // Production's lease at full size: on a loaded 2-core machine a runner's event loop stalls for
  // seconds (7 s measured), which a 10 s lease (lost 1.7 s before expiry) does not survive.
  const env: Record<string, string> = size.leaseMs ? { LEASE_DURATION_MS: String(size.leaseMs) } : {};
  const runner = async () => stack.runners().find((r) => r.alive()) ?? (await stack.startRunner(env));
  return row('r1', 'kill -9 of the runner during traffic', async (check, measured) => {
    // How late this process (simulator, API, the stand-ins' proxies) ran its callbacks: every runner
    // call to DynamoDB, SQS and S3 goes through it.
    const lag = monitorEventLoopDelay({ resolution: 50 });
    lag.enable();
    const simBefore = stack.sim.stats();
    await runner();
    const linked = await linkSessions(stack, 'r1', size.sessions, 4915300000000);
    progress(`r1: ${linked.length} sessions linked`);
    const outbound: { messageId: string; text: string; l: Linked; acceptedAt: number }[] = [];
    const inbound: { text: string; l: Linked }[] = [];
    const published: Record<string, unknown>[] = [];
    const killDelays: number[] = [];
    /** Messages found READ in storage (final): not read again. */
    const seenRead = new Set<string>();
    const at = (i: number) => linked[i % linked.length] as Linked;

    try {
      for (let round = 0; round < size.rounds; round++) {
        // A random moment inside the traffic: after a random number of this round's deliveries, plus up to 300 ms.
        const killAfter = 1 + Math.floor(Math.random() * Math.max(1, size.messages - 2));
        killDelays.push(killAfter);
        const start = Date.now();
        const sentBefore = outbound.length;
        let killedAt = Number.POSITIVE_INFINITY;
        let fence = 0;
        const killer = (async () => {
          // Counted where the exchange happens: messages of this round that reached their contacts.
          // (at the latest after 30 s: a stalled exchange is a moment to kill too)
          await waitFor(
            'deliveries before the kill',
            () =>
              outbound
                .slice(sentBefore)
                .filter((o) => stack.sim.inbox(o.l.contact).some((m) => m.text === o.text)).length >=
              killAfter,
            30_000,
          ).catch(() => undefined);
          await sleep(Math.floor(Math.random() * KILL_JITTER_MS));
          const victim = await runner();
          fence = await fenceOf(stack, linked);
          killedAt = Date.now();
          victim.child.kill('SIGKILL');
          await victim.exited;
          await sleep(ECS_RESTART_MS);
          await stack.startRunner(env);
        })();
        const outs = pool(
          Array.from({ length: size.messages }, (_, i) => i),
          8,
          async (i) => {
            const l = at(i);
            const text = `r1 out ${round}.${i}`;
            const messageId = await sendAccepted(stack, l, text);
            outbound.push({ messageId, text, l, acceptedAt: Date.now() });
          },
        );
        const ins = pool(
          Array.from({ length: size.messages }, (_, i) => i),
          8,
          async (i) => {
            const l = at(i);
            const text = `r1 in ${round}.${i}`;
            await stack.sim.sendText(l.contact, l.phone, text);
            inbound.push({ text, l });
          },
        );
        await Promise.all([killer, outs, ins]);
        const phase = (what: string) =>
          progress(`r1: round ${round + 1}: ${what} after ${Date.now() - start} ms`);
        phase('traffic accepted and runner replaced');
        await allConnected(stack, linked, 90_000, fence);
        phase('every session CONNECTED again');
        const undelivered = () =>
          outbound.filter((o) => !stack.sim.inbox(o.l.contact).some((m) => m.text === o.text));
        await waitFor(
          `round ${round}: every outbound message at its contact`,
          () => undelivered().length === 0,
          90_000,
        ).catch((error) =>
          check(
            false,
            `${(error as Error).message}; missing ${undelivered().length}: ${undelivered()
              .slice(0, 5)
              .map((o) => o.text)
              .join(', ')}`,
          ),
        );
        phase('outbound at the contacts');
        await waitFor(
          `round ${round}: every inbound message published`,
          async () => {
            published.push(...(await stack.takeIncoming()));
            return inbound.every((m) =>
              published.some((p) => p.sessionId === m.l.sessionId && p.text === m.text),
            );
          },
          90_000,
        ).catch((error) => check(false, (error as Error).message));
        phase('inbound published');
        // The contacts read everything; messages accepted before the kill must still become READ.
        for (const l of linked) stack.sim.markReadFrom(l.contact, l.phone);
        const beforeKill = outbound.filter((o) => o.acceptedAt < killedAt);
        // (all rounds so far: receipts of earlier rounds must not get lost either)
        // READ is final, so only the others are read again, a few at a time: a thousand parallel
        // reads every 150 ms starved DynamoDB Local, which the runners share, and cost them their lease.
        const unread = async () => {
          const left = beforeKill.filter((o) => !seenRead.has(o.messageId));
          const all = await pool(left, 8, (o) => stack.messages.get(o.messageId));
          for (const [i, o] of left.entries()) if (all[i]?.status === 'READ') seenRead.add(o.messageId);
          return left
            .map((o, i) => ({ o, status: all[i]?.status }))
            .filter((x) => x.status !== 'READ')
            .map((x) => `${x.o.text} ${x.status}`);
        };
        await waitFor(
          `round ${round}: read receipts of the ${beforeKill.length} messages sent before the kill`,
          async () => (await unread()).length === 0,
          60_000,
        ).catch(async (error) => {
          const left = await unread();
          check(
            false,
            `${(error as Error).message}; not READ ${left.length}: ${left.slice(0, 5).join(', ')}`,
          );
        });
        progress(
          `r1: round ${round + 1}/${size.rounds} done (kill after delivery ${killAfter}, ${beforeKill.length - sentBefore} of ${size.messages} sent before it, ${Date.now() - start} ms)`,
        );
      }
    } catch (error) {
      check(false, `aborted: ${(error as Error).message}`);
    }

    const inboxTexts = linked.flatMap((l) => stack.sim.inbox(l.contact).map((m) => m.text));
    const lostOut = outbound.filter((o) => !inboxTexts.includes(o.text));
    const lostIn = inbound.filter(
      (m) => !published.some((p) => p.sessionId === m.l.sessionId && p.text === m.text),
    );
    const dupAtContact = duplicateTexts(inboxTexts);
    const dupInStorage = duplicateTexts(published.map((p) => `${p.sessionId} ${p.text}`));
    const notFinal = await unsentAfterSettling(
      stack,
      outbound.map((o) => o.messageId),
    );
    const stored = await Promise.all(linked.map((l) => stack.sessions.get(l.sessionId)));
    const devices = stack.sim.stats().devices;
    const repairs =
      linked.reduce(
        (n, l) => n + Math.max(0, devices.filter((d) => d.jid.startsWith(l.phone)).length - 1),
        0,
      ) + stored.filter((s) => s?.qr || s?.status === 'LOGGED_OUT').length;
    const simAfter = stack.sim.stats();
    // Which side lost it: an inbound text the device never answered (receipt) vs one it answered.
    const inboundState = (m: { text: string; l: Linked }) =>
      stack.sim.sent(m.l.contact).find((e) => e.text === m.text)?.deliveredAt ? 'receipted' : 'unanswered';
    Object.assign(measured, {
      sessions: linked.length,
      leaseMs: size.leaseMs ?? Number(stack.runnerEnv.LEASE_DURATION_MS),
      rounds: size.rounds,
      outbound: outbound.length,
      inbound: inbound.length,
      lost: lostOut.length + lostIn.length,
      duplicates: dupAtContact.length + dupInStorage.length,
      notSent: notFinal.length,
      repairs,
      killedAfterDelivery: killDelays.join(' '),
      // At the simulator: copies contacts could not decrypt, retry receipts they sent, messages
      // delivered again to a device that never answered them.
      decryptFailures: simAfter.decryptFailures - simBefore.decryptFailures,
      retryRequests: simAfter.retryRequests - simBefore.retryRequests,
      redelivered: simAfter.redelivered - simBefore.redelivered,
      lostInboundReceipted: lostIn.filter((m) => inboundState(m) === 'receipted').length,
      harnessLagP99Ms: Math.round(lag.percentile(99) / 1e6),
      harnessLagMaxMs: Math.round(lag.max / 1e6),
    });
    lag.disable();
    check(
      lostOut.length === 0,
      `lost outbound ${lostOut.length}: ${(await describeStored(stack, lostOut.slice(0, 5))).join(', ')}`,
    );
    check(
      lostIn.length === 0,
      `lost inbound ${lostIn.length}: ${lostIn
        .slice(0, 5)
        .map((m) => `${m.text} (${inboundState(m)})`)
        .join(', ')}`,
    );
    check(dupAtContact.length === 0, `shown twice at a contact: ${dupAtContact.slice(0, 5).join(', ')}`);
    check(dupInStorage.length === 0, `published twice: ${dupInStorage.slice(0, 5).join(', ')}`);
    check(notFinal.length === 0, `not SENT/DELIVERED/READ in storage: ${notFinal.slice(0, 5).join(', ')}`);
    check(repairs === 0, `${repairs} session(s) needed a new link`);
  });
};
