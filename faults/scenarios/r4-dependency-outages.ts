import {
  allConnected,
  describeStored,
  duplicateTexts,
  type Linked,
  linkSessions,
  sleep,
  unsentAfterSettling,
  waitFor,
} from '../drive.ts';
import type { FaultStack } from '../fault-stack.ts';
import { type RowResult, row } from '../row.ts';

export interface R4Size {
  sessions: number;
  outageMs: number;
  /** A runner with this lease runs the row (an outage shorter than the lease must not cost the sockets); the stack's own when unset. */
  leaseMs?: number;
}

const DEPENDENCIES = ['dynamodb', 'sqs', 's3'] as const;
/** The API reads DynamoDB and enqueues on SQS; it never touches S3. */
const API_USES = new Set(['dynamodb', 'sqs']);
/**
 * Rounds of traffic (a send, a status read, an incoming text) an SQS or S3 outage lasts at least,
 * however long `outageMs` is: on a loaded machine one round can take longer than a short outage,
 * and an outage that saw one round proved little. A DynamoDB cut is never stretched: the shard
 * lease lives there, and a cut longer than about half the lease costs it, by design.
 */
const MIN_ROUNDS = 3;
/** The pause between two rounds of traffic during an outage: the traffic's pace, not a wait. */
const ROUND_PAUSE_MS = 300;
/** How long past `outageMs` an SQS or S3 outage may last while it waits for its rounds and a 503. */
const OUTAGE_GRACE_MS = 30_000;
/** Runs of this row in one process: each links sessions of its own (a retried test runs it again). */
let runs = 0;

/** Stops whatever runner runs (SIGTERM, it drains) and starts one with `env` on top of the stack's. */
export const replaceRunner = async (stack: FaultStack, env: Record<string, string> = {}) => {
  for (const r of stack.runners().filter((r) => r.alive())) {
    r.child.kill('SIGTERM');
    await r.exited;
  }
  return stack.startRunner(env);
};

/**
 * r4: DynamoDB, SQS and S3 are each cut (every connection reset, new ones refused) for a while
 * under traffic both ways. Meanwhile the API answers 503 with a code (never another 5xx) when it
 * needs what is down, the sessions' sockets stay up, and afterwards every message accepted or
 * received arrived once. At full size the runner runs with the production lease (30 s).
 */
export const r4DependencyOutages = async (
  stack: FaultStack,
  size: R4Size,
  progress: (line: string) => void,
): Promise<RowResult> =>
  row('r4', 'DynamoDB, SQS and S3 each cut under traffic', async (check, measured) => {
    if (size.leaseMs) await replaceRunner(stack, { LEASE_DURATION_MS: String(size.leaseMs) });
    else if (!stack.runners().some((r) => r.alive())) await stack.startRunner();
    try {
      const run = runs++;
      const linked = await linkSessions(
        stack,
        run ? `r4r${run}` : 'r4',
        size.sessions,
        4915320000000 + run * 1000,
      );
      progress(`r4: ${linked.length} sessions linked`);
      const outbound: { text: string; l: Linked; messageId: string }[] = [];
      const inbound: { text: string; l: Linked }[] = [];
      const published: Record<string, unknown>[] = [];
      const device = (l: Linked) => stack.sim.stats().devices.find((d) => d.jid.startsWith(l.phone));
      const replacementsBefore = linked.map((l) => device(l)?.replacements ?? 0);
      let n = 0;
      for (const dep of DEPENDENCIES) {
        const answers = new Map<string, number>();
        let socketDrops = 0;
        let badAnswers = 0;
        const cutAt = Date.now();
        stack.proxies[dep].cut();
        const ends = cutAt + size.outageMs;
        const stretch = dep !== 'dynamodb';
        let restored = false;
        const restore = () => {
          if (restored) return;
          restored = true;
          stack.proxies[dep].restore();
          measured[`${dep}CutMs`] = Date.now() - cutAt;
        };
        // DynamoDB comes back on time even while a round is still waiting for its answers.
        const restoreTimer = stretch ? undefined : setTimeout(restore, size.outageMs);
        const deadline = stretch ? ends + OUTAGE_GRACE_MS : ends;
        let rounds = 0;
        // The outage ends once it has lasted `outageMs`, seen its rounds and, for what the API
        // uses, a 503 with a code: a condition, not a time, decides (a loaded machine is slow).
        const done = () =>
          Date.now() >= ends &&
          (!stretch || rounds >= MIN_ROUNDS) &&
          (!API_USES.has(dep) || [...answers.keys()].some((k) => k.startsWith('503 ')));
        try {
          while (!done() && Date.now() < deadline) {
            rounds += 1;
            const l = linked[n % linked.length] as Linked;
            n += 1;
            const text = `r4 ${dep} out ${n}`;
            const res = await stack.call('POST', '/send', {
              sessionId: l.sessionId,
              to: l.contact,
              message: text,
            });
            const status = await stack.call('GET', `/status/${l.sessionId}`);
            for (const r of [res, status]) {
              const key = `${r.status}${r.body?.error?.code ? ` ${r.body.error.code}` : ''}`;
              answers.set(key, (answers.get(key) ?? 0) + 1);
              if (r.status >= 500 && (r.status !== 503 || !r.body?.error?.code)) badAnswers += 1;
            }
            if (res.status === 202) outbound.push({ text, l, messageId: res.body.messageId });
            const inText = `r4 ${dep} in ${n}`;
            await stack.sim.sendText(l.contact, l.phone, inText);
            inbound.push({ text: inText, l });
            socketDrops += linked.filter((x) => (device(x)?.connections ?? 0) !== 1).length;
            await sleep(ROUND_PAUSE_MS);
          }
        } finally {
          clearTimeout(restoreTimer);
          restore();
        }
        const seen = [...answers.entries()].map(([k, v]) => `${k}×${v}`).join(', ');
        measured[`${dep}Answers`] = seen;
        measured[`${dep}SocketDrops`] = socketDrops;
        measured[`${dep}Rounds`] = rounds;
        progress(
          `r4: ${dep} was down ${measured[`${dep}CutMs`]} ms, ${rounds} rounds; API answered ${seen}; socket drops seen ${socketDrops}`,
        );
        if (stretch)
          check(rounds >= MIN_ROUNDS, `${dep} down: only ${rounds} round(s) of traffic during the outage`);
        check(
          badAnswers === 0,
          `${dep} down: ${badAnswers} API answer(s) were a 5xx other than 503 with a code`,
        );
        if (API_USES.has(dep))
          check(
            [...answers.keys()].some((k) => k.startsWith('503 ')),
            `${dep} down: the API never answered 503 with a code`,
          );
        check(socketDrops === 0, `${dep} down: a session's socket was not up (${socketDrops} samples)`);
        await allConnected(stack, linked, 60_000);
      }
      const replaced = linked.filter(
        (l, i) => (device(l)?.replacements ?? 0) !== replacementsBefore[i],
      ).length;
      measured.replacements = replaced;
      check(replaced === 0, `${replaced} device(s) were replaced (a second connection) during the outages`);

      const undelivered = () =>
        outbound.filter((o) => !stack.sim.inbox(o.l.contact).some((m) => m.text === o.text));
      const unpublished = () =>
        inbound.filter((m) => !published.some((p) => p.sessionId === m.l.sessionId && p.text === m.text));
      await waitFor('every accepted send at its contact', () => undelivered().length === 0, 90_000).catch(
        async () =>
          check(
            false,
            `lost outbound ${undelivered().length}: ${(await describeStored(stack, undelivered().slice(0, 5))).join(', ')}`,
          ),
      );
      await waitFor(
        'every inbound message published',
        async () => {
          published.push(...(await stack.takeIncoming()));
          return unpublished().length === 0;
        },
        90_000,
      ).catch(() =>
        check(
          false,
          `lost inbound ${unpublished().length}: ${unpublished()
            .slice(0, 5)
            .map((m) => m.text)
            .join(', ')}`,
        ),
      );
      const inboxTexts = linked.flatMap((l) => stack.sim.inbox(l.contact).map((m) => m.text));
      const dups = [
        ...duplicateTexts(inboxTexts),
        ...duplicateTexts(published.map((p) => `${p.sessionId} ${p.text}`)),
      ];
      const unsent = await unsentAfterSettling(
        stack,
        outbound.map((o) => o.messageId),
      );
      Object.assign(measured, {
        outageMs: size.outageMs,
        accepted: outbound.length,
        inbound: inbound.length,
        lost: undelivered().length + unpublished().length,
        duplicates: dups.length,
        notSent: unsent.length,
      });
      check(dups.length === 0, `duplicates: ${dups.slice(0, 5).join(', ')}`);
      check(unsent.length === 0, `not SENT in storage: ${unsent.slice(0, 5).join(', ')}`);
    } finally {
      if (size.leaseMs) await replaceRunner(stack);
    }
  });
