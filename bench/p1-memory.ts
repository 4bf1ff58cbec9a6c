import type { BenchContext } from './bench-context.ts';
import { type MemoryAfterGc, memoryAfterGc } from './proc-usage.ts';

/**
 * After the full GC, V8's young generation gives its emptied pages back too (up to 32 MB, sized by
 * how busy the process was lately, not by its sessions): the runner, quiet since the rows before,
 * held 1 MB of it at the first point and 32 MB after linking, while the raw process held 32 MB at
 * both, which charged the runner 31 MB more across the sessions added.
 */
const FULLY = { releaseYoung: true };

const perSession = (after: number, before: number, added: number) =>
  Math.round(((after - before) / added) * 100) / 100;

const line = (m: MemoryAfterGc) =>
  `RSS ${m.rss.toFixed(0)} MB (heap ${m.heapUsed.toFixed(0)} of ${m.heapTotal.toFixed(0)}, external ${m.external.toFixed(0)}; ` +
  `resident: ${Object.entries(m.resident)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ')}; V8 spaces: ${Object.entries(m.spaces)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ')})`;

/** Growth per session of each kind of resident memory (glibc's heaps, files, other anonymous). */
const residentPerSession = (after: MemoryAfterGc, before: MemoryAfterGc, added: number) =>
  Object.fromEntries(
    Object.entries(after.resident).map(([k, v]) => [
      k,
      perSession(v, before.resident[k as keyof MemoryAfterGc['resident']], added),
    ]),
  );

/**
 * p1: RSS per linked idle session, after a full GC in each process, as the growth from the sessions
 * the earlier rows linked to `sessions` (both processes carry the same baseline sockets, so the
 * figure is what one more session costs): the runner against the raw-Baileys process. The V8 heap and
 * the memory outside it (`external`: Buffers, zlib, sockets) per session are reported beside it, to
 * show where a difference lies (and with BENCH_HEAP_SNAPSHOT_DIR a heap snapshot of each process at
 * both points: bench/heap-diff.ts compares them).
 */
export const p1Memory = async (ctx: BenchContext, size: number, progress: (line: string) => void) => {
  // BENCH_P1_SESSIONS / BENCH_P1_BASE: other sizes for this row alone (a full run measures from the
  // 20 sessions p2 and p6 linked to 200; run alone, from 1, where start-up memory is still settling).
  const sessions = Number(process.env.BENCH_P1_SESSIONS || size);
  const base = Math.max(1, ctx.linked.length, ctx.rawPhones.length, Number(process.env.BENCH_P1_BASE || 0));
  await ctx.sessions(base);
  const raw = await ctx.rawBaileys(base);
  const runnerPid = ctx.runner.process.child.pid as number;
  const runnerBefore = await memoryAfterGc(runnerPid, ctx.runner.gcEnv, FULLY);
  const rawBefore = await memoryAfterGc(raw.pid, raw.gcEnv, FULLY);
  progress(`p1: at ${base} sessions: runner ${line(runnerBefore)}, raw ${line(rawBefore)}`);
  // One after the other: linking both at once starved the runner on loaded cores until it lost its lease.
  await ctx.sessions(sessions);
  progress(`p1: ${sessions} runner sessions linked`);
  await ctx.rawBaileys(sessions);
  progress(`p1: ${sessions} raw Baileys sockets linked`);
  const runnerAfter = await memoryAfterGc(runnerPid, ctx.runner.gcEnv, FULLY);
  const rawAfter = await memoryAfterGc(raw.pid, raw.gcEnv, FULLY);
  progress(`p1: at ${sessions} sessions: runner ${line(runnerAfter)}, raw ${line(rawAfter)}`);
  const added = sessions - base;
  const mbPerSession = perSession(runnerAfter.rss, runnerBefore.rss, added);
  const rawBaileysMbPerSession = perSession(rawAfter.rss, rawBefore.rss, added);
  return {
    sessions,
    mbPerSession,
    rawBaileysMbPerSession,
    ratio: Math.round((mbPerSession / rawBaileysMbPerSession) * 100) / 100,
    runnerRssMb: Math.round(runnerAfter.rss),
    heapTotalMbPerSession: perSession(runnerAfter.heapTotal, runnerBefore.heapTotal, added),
    rawHeapTotalMbPerSession: perSession(rawAfter.heapTotal, rawBefore.heapTotal, added),
    heapMbPerSession: perSession(runnerAfter.heapUsed, runnerBefore.heapUsed, added),
    rawHeapMbPerSession: perSession(rawAfter.heapUsed, rawBefore.heapUsed, added),
    externalMbPerSession: perSession(runnerAfter.external, runnerBefore.external, added),
    rawExternalMbPerSession: perSession(rawAfter.external, rawBefore.external, added),
    residentMbPerSession: residentPerSession(runnerAfter, runnerBefore, added),
    rawResidentMbPerSession: residentPerSession(rawAfter, rawBefore, added),
  };
};
