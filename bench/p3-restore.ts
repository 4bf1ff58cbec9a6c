import { waitFor } from '../faults/drive.ts';
import type { BenchContext } from './bench-context.ts';
import { watchDevices } from './device-watch.ts';

/**
 * Stops the runner with `signal`, starts a new one once it is gone (as ECS replaces a task), and
 * returns the seconds from the signal until every session's device is online again at the simulator.
 */
const restart = async (ctx: BenchContext, signal: NodeJS.Signals, phones: string[], timeoutMs: number) => {
  const watch = watchDevices(ctx.b.stack.sim, phones);
  try {
    const t0 = Date.now();
    ctx.runner.process.child.kill(signal);
    await ctx.runner.process.exited;
    await waitFor('a device offline', () => !watch.allOnline(), 30_000).catch(() => undefined);
    ctx.runner = await ctx.b.startRunner();
    await waitFor('every device online at the simulator', () => watch.allOnline(), timeoutMs);
    return Math.round((Date.now() - t0) / 100) / 10;
  } finally {
    watch.stop();
  }
};

/**
 * p3: with `sessions` linked, seconds until all are online again at the simulator after a graceful
 * restart (SIGTERM, then a new runner) and after a kill -9 (the new runner waits for the lease to
 * run out); sessions that show a new QR afterwards.
 */
export const p3Restore = async (ctx: BenchContext, sessions: number, progress: (line: string) => void) => {
  const linked = await ctx.sessions(sessions);
  const phones = linked.map((l) => l.phone);
  progress(`p3: ${linked.length} sessions linked`);
  const restoreSeconds = await restart(ctx, 'SIGTERM', phones, 300_000);
  progress(`p3: graceful restart: all online after ${restoreSeconds} s`);
  const crashRestoreSeconds = await restart(ctx, 'SIGKILL', phones, 300_000);
  progress(`p3: kill -9: all online after ${crashRestoreSeconds} s`);
  const stored = await Promise.all(linked.map((l) => ctx.b.stack.sessions.get(l.sessionId)));
  return {
    sessions: linked.length,
    restoreSeconds,
    crashRestoreSeconds,
    newQr: stored.filter((s) => s?.status === 'QR_READY').length,
  };
};
