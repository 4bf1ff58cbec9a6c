import { allConnected, fenceOf, sleep, waitFor } from '../faults/drive.ts';
import type { BenchContext } from './bench-context.ts';
import { watchDevices } from './device-watch.ts';

/**
 * p6: a rolling runner deploy with `sessions` linked: a second runner starts and answers its health
 * check, then the first gets SIGTERM. Offline seconds per session as the simulator sees them (no
 * logged-in connection of the device), and replacements (two connections of one device at once).
 */
export const p6Deploy = async (ctx: BenchContext, sessions: number, progress: (line: string) => void) => {
  const { stack } = ctx.b;
  const linked = await ctx.sessions(sessions);
  const watch = watchDevices(
    stack.sim,
    linked.map((l) => l.phone),
  );
  try {
    const fence = await fenceOf(stack, linked);
    const old = ctx.runner;
    ctx.runner = await ctx.b.startRunner();
    progress('p6: the new runner is up; SIGTERM to the old one');
    old.process.child.kill('SIGTERM');
    await old.process.exited;
    await allConnected(stack, linked, 120_000, fence);
    await waitFor('every device online at the simulator', () => watch.allOnline(), 120_000);
    await sleep(1000);
    const offline = watch.offlineSeconds().sort((a, b) => a - b);
    return {
      sessions: linked.length,
      medianOfflineSeconds: Math.round((offline[Math.floor(offline.length / 2)] ?? 0) * 10) / 10,
      maxOfflineSeconds: Math.round((offline.at(-1) ?? 0) * 10) / 10,
      replacements: watch.replacements(),
    };
  } finally {
    watch.stop();
  }
};
