import { allConnected, fenceOf, linkSessions, sleep, waitFor } from '../drive.ts';
import type { FaultStack } from '../fault-stack.ts';
import { type RowResult, row } from '../row.ts';
import { currentRunner } from './r1-kill-runner.ts';

export interface R6Size {
  sessions: number;
  /** How long every listing of the shard's sessions fails (500) once the first one failed. */
  listingFailsMs: number;
  /** Whether the first listing hangs (until the client's request timeout, 10 s) before that. */
  hangListing: boolean;
}

/** The bound the issue sets: every session of the shard back CONNECTED within this after the takeover began. */
const BACK_WITHIN_MS = 60_000;
const NEW_RUNNER_ID = 'r6-successor';
/** How often the successor's `/healthz` is sampled (a 200 shorter than this could go unseen). */
const SAMPLE_MS = 200;

/**
 * r6: the runner holding the shard is killed (-9) and a new one takes over while DynamoDB misbehaves
 * for it (the hook in front of DynamoDB): its first lease acquisition hangs, the listing of the
 * shard's sessions fails for a while (and, full size, first hangs). Every session of the shard is
 * back CONNECTED within 60 s of the kill, and the new runner's `/healthz` answers 503 from the
 * moment it holds the shard until its listing went through (never 200 in between).
 */
export const r6TakeoverFaults = async (
  stack: FaultStack,
  size: R6Size,
  progress: (line: string) => void,
): Promise<RowResult> =>
  row('r6', 'a failed listing and a hung AWS call at takeover', async (check, measured) => {
    const old = await currentRunner(stack);
    const linked = await linkSessions(stack, 'r6', size.sessions, 4915360000000);
    const fence = await fenceOf(stack, linked);
    progress(`r6: ${linked.length} sessions linked; killing the runner`);
    const hook = stack.dynamoHook;
    const listing = { action: 'Query', bodyIncludes: '"SHARD#0"' } as const;
    try {
      old.child.kill('SIGKILL');
      await old.exited;
      const killedAt = Date.now();
      // The successor's first lease call (its owner id is in the body) hangs; then the listing.
      hook.arm({ action: 'UpdateItem', bodyIncludes: NEW_RUNNER_ID, effect: 'hang', times: 1 });
      if (size.hangListing) hook.arm({ ...listing, effect: 'hang', times: 1 });
      hook.arm({ ...listing, effect: 'fail', forMs: size.listingFailsMs });
      const successor = await stack.startRunner({ RUNNER_ID: NEW_RUNNER_ID });

      // /healthz of the successor, sampled from its start until its sessions are back.
      const samples: { at: number; status: number }[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const status = await fetch(successor.healthUrl, { signal: AbortSignal.timeout(2_000) })
            .then((r) => r.status)
            .catch(() => 0); // not listening yet
          samples.push({ at: Date.now(), status });
          await sleep(SAMPLE_MS);
        }
      })();
      try {
        await allConnected(stack, linked, BACK_WITHIN_MS, fence);
      } catch (error) {
        check(false, (error as Error).message);
      }
      const backAfterMs = Date.now() - killedAt;
      // The successor must end up healthy too, within the same bound.
      await waitFor(
        '/healthz 200',
        () => samples.at(-1)?.status === 200,
        Math.max(1_000, killedAt + BACK_WITHIN_MS - Date.now()),
      ).catch(() => undefined);
      const healthyAfterMs = Date.now() - killedAt;
      sampling = false;
      await sampler;

      const events = hook.events();
      const firstThrough = events.find(
        (e) => e.action === 'Query' && e.effect === 'passed' && e.at >= killedAt,
      )?.at;
      const faulted = events.filter((e) => e.action === 'Query' && e.effect !== 'passed');
      const failed = faulted.filter((e) => e.effect === 'fail').length;
      const hung = events.filter((e) => e.effect === 'hang').length;
      // From the first faulted listing (the successor holds the lease: it lists only then) until one
      // went through. Before the lease, a runner that holds nothing is healthy (a deploy's new task
      // must pass its health check while the old one still holds the shard).
      const stuckFrom = faulted[0]?.at ?? Number.POSITIVE_INFINITY;
      const stuck = samples.filter(
        (s) => s.at >= stuckFrom && s.at < (firstThrough ?? Number.POSITIVE_INFINITY),
      );
      const early200 = stuck.filter((s) => s.status === 200);
      const while503 = stuck.filter((s) => s.status === 503).length;
      Object.assign(measured, {
        sessions: linked.length,
        backAfterMs,
        healthyAfterMs,
        listingFailures: failed,
        hungCalls: hung,
        health503Samples: while503,
        health200BeforeListing: early200.length,
        healthLast: samples.at(-1)?.status ?? 0,
      });
      check(backAfterMs <= BACK_WITHIN_MS, `sessions back CONNECTED after ${backAfterMs} ms (over 60 s)`);
      check(failed > 0, 'no listing failed: the scenario proved nothing');
      check(
        hung >= (size.hangListing ? 2 : 1),
        `${hung} call(s) hung, fewer than armed: the scenario proved less`,
      );
      check(firstThrough !== undefined, 'the listing never went through');
      check(
        early200.length === 0,
        `/healthz answered 200 ${early200.length} time(s) before the shard was listed`,
      );
      check(while503 > 0, '/healthz was never seen answering 503 while the listing failed');
      check(
        samples.at(-1)?.status === 200,
        `/healthz answered ${samples.at(-1)?.status}, not 200, 60 s after the kill`,
      );
    } finally {
      hook.clear();
    }
  });
