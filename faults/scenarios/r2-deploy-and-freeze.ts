import { allConnected, fenceOf, healthy, type Linked, linkSessions, sleep, waitFor } from '../drive.ts';
import type { FaultStack } from '../fault-stack.ts';
import { type RowResult, row } from '../row.ts';
import { currentRunner } from './r1-kill-runner.ts';

export interface R2Size {
  sessions: number;
}

/**
 * The window the resumed zombie is watched in: longer than a lease (the stack's 10 s), so a runner
 * that still believed it held the shard would have renewed, reconnected or written within it. A
 * time window of the scenario (nothing happening is what it checks), not a wait for a condition.
 */
const ZOMBIE_WATCH_MS = 12_000;

/**
 * r2: a rolling deploy (a second runner starts, the first gets SIGTERM) costs no replacement in the
 * simulator; a runner frozen (SIGSTOP) past its lease while a new one takes over, then resumed,
 * causes at most one replacement per device, none after it resumes (no ping-pong), and its late
 * writes are refused (every session keeps the new owner's fence and stays CONNECTED).
 */
export const r2DeployAndFreeze = async (
  stack: FaultStack,
  size: R2Size,
  progress: (line: string) => void,
): Promise<RowResult> =>
  row('r2', 'rolling deploy; a runner frozen past its lease', async (check, measured) => {
    const first = await currentRunner(stack);
    const linked = await linkSessions(stack, 'r2', size.sessions, 4915330000000);
    const replacements = () =>
      linked.map((l: Linked) =>
        stack.sim
          .stats()
          .devices.filter((d) => d.jid.startsWith(l.phone))
          .reduce((n, d) => n + d.replacements, 0),
      );
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    progress(`r2: ${linked.length} sessions linked`);

    const beforeDeploy = replacements();
    const deployFence = await fenceOf(stack, linked);
    const deployedAt = new Date().toISOString();
    const second = await stack.startRunner();
    // As ECS: the old task gets SIGTERM once the new one passes its health check (it holds no shard
    // yet and waits for the lease).
    await healthy(second);
    first.child.kill('SIGTERM');
    await first.exited;
    await allConnected(stack, linked, 60_000, deployFence, deployedAt);
    const deployReplacements = sum(replacements()) - sum(beforeDeploy);
    measured.deployReplacements = deployReplacements;
    check(deployReplacements === 0, `rolling deploy: ${deployReplacements} replacement(s) in the simulator`);
    progress(`r2: rolling deploy done, ${deployReplacements} replacements`);

    const beforeFreeze = replacements();
    const freezeFence = await fenceOf(stack, linked);
    const frozenAt = new Date().toISOString();
    second.child.kill('SIGSTOP');
    await stack.startRunner();
    try {
      await allConnected(stack, linked, 60_000, freezeFence, frozenAt);
      const newFence = await fenceOf(stack, linked);
      const atTakeover = replacements();
      second.child.kill('SIGCONT');
      // Watch the resumed zombie for longer than a lease: it must neither reconnect nor write.
      await sleep(ZOMBIE_WATCH_MS);
      const after = replacements();
      const perDevice = after.map((n, i) => n - (beforeFreeze[i] ?? 0));
      const pingPong = sum(after) - sum(atTakeover);
      const stored = await Promise.all(linked.map((l) => stack.sessions.get(l.sessionId)));
      const overwritten = stored.filter((s) => s?.fence !== newFence || s?.status !== 'CONNECTED').length;
      Object.assign(measured, {
        sessions: linked.length,
        freezeReplacementsMax: Math.max(...perDevice),
        replacementsAfterResume: pingPong,
        lateWritesAccepted: overwritten,
      });
      check(
        Math.max(...perDevice) <= 1,
        `frozen runner: a device was replaced ${Math.max(...perDevice)} times`,
      );
      check(pingPong === 0, `frozen runner: ${pingPong} replacement(s) after it resumed (ping-pong)`);
      check(
        overwritten === 0,
        `frozen runner: ${overwritten} session(s) lost the new owner's fence or status`,
      );
      await waitFor('every session CONNECTED after the zombie resumed', async () => {
        await allConnected(stack, linked, 10_000);
        return true;
      });
    } finally {
      if (second.alive()) {
        second.child.kill('SIGCONT');
        second.child.kill('SIGTERM');
        await second.exited;
      }
    }
  });
