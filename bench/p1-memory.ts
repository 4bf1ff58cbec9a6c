import type { BenchContext } from './bench-context.ts';
import { rssAfterGc } from './proc-usage.ts';

/**
 * p1: RSS per linked idle session, after a full GC in each process, as the growth from the sessions
 * the earlier rows linked to `sessions` (both processes carry the same baseline sockets, so the
 * figure is what one more session costs): the runner against the raw-Baileys process.
 */
export const p1Memory = async (ctx: BenchContext, sessions: number, progress: (line: string) => void) => {
  const base = Math.max(1, ctx.linked.length, ctx.rawPhones.length);
  await ctx.sessions(base);
  const raw = await ctx.rawBaileys(base);
  const runnerPid = ctx.runner.process.child.pid as number;
  const runnerBefore = await rssAfterGc(runnerPid, ctx.runner.gcEnv);
  const rawBefore = await rssAfterGc(raw.pid, raw.gcEnv);
  progress(`p1: at ${base} sessions: runner ${runnerBefore.toFixed(0)} MB, raw ${rawBefore.toFixed(0)} MB`);
  // One after the other: linking both at once starved the runner on loaded cores until it lost its lease.
  await ctx.sessions(sessions);
  progress(`p1: ${sessions} runner sessions linked`);
  await ctx.rawBaileys(sessions);
  progress(`p1: ${sessions} raw Baileys sockets linked`);
  const runnerAfter = await rssAfterGc(runnerPid, ctx.runner.gcEnv);
  const rawAfter = await rssAfterGc(raw.pid, raw.gcEnv);
  progress(`p1: at ${sessions} sessions: runner ${runnerAfter.toFixed(0)} MB, raw ${rawAfter.toFixed(0)} MB`);
  const added = sessions - base;
  const mbPerSession = Math.round(((runnerAfter - runnerBefore) / added) * 100) / 100;
  const rawBaileysMbPerSession = Math.round(((rawAfter - rawBefore) / added) * 100) / 100;
  return {
    sessions,
    mbPerSession,
    rawBaileysMbPerSession,
    ratio: Math.round((mbPerSession / rawBaileysMbPerSession) * 100) / 100,
    runnerRssMb: Math.round(runnerAfter),
  };
};
