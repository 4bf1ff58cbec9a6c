import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../faults/drive.ts';

/** RSS of a process in MB, read from /proc (the same way for every process the bench measures). */
export const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/** CPU time (user + system) a process has used so far, in ms (/proc clock ticks of 10 ms). */
export const cpuMs = (pid: number): number => {
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

/**
 * Env for a child process that should answer SIGUSR2 with a full GC (bench/gc-hook.mjs); with
 * BENCH_CPU_PROFILE_DIR set, also SIGWINCH with a CPU profile of its own (bench/cpu-prof-hook.mjs);
 * with BENCH_HEAP_SNAPSHOT_DIR set, a heap snapshot after every such GC.
 */
export const gcHookEnv = (name: string): Record<string, string> => {
  const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
  const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  const hook = (file: string) => ` --import ${join(import.meta.dirname, file)}`;
  return {
    NODE_OPTIONS: `--expose-gc${hook('gc-hook.mjs')}${profileDir ? hook('cpu-prof-hook.mjs') : ''}`,
    BENCH_GC_DONE_FILE: join(tmpdir(), `bench-gc-${process.pid}-${name}`),
    ...(profileDir && { BENCH_CPU_PROFILE_FILE: join(profileDir, name) }),
    ...(snapshotDir && { BENCH_HEAP_SNAPSHOT_FILE: join(snapshotDir, name) }),
  };
};

/** Runs `work` inside a CPU profile of process `pid` when BENCH_CPU_PROFILE_DIR is set (see `gcHookEnv`). */
export const profiled = async <T>(pid: number, work: () => Promise<T>): Promise<T> => {
  if (!process.env.BENCH_CPU_PROFILE_DIR) return work();
  process.kill(pid, 'SIGWINCH');
  try {
    return await work();
  } finally {
    process.kill(pid, 'SIGWINCH');
  }
};

/** What a child's gc hook reports after its GC: `process.memoryUsage()` in MB, and RSS from /proc. */
export interface MemoryAfterGc {
  rss: number;
  /** The V8 heap as committed (what RSS holds of it), and the part of it live objects use. */
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Resident MB by kind of mapping (gc-hook.mjs: glibc's main heap, its thread arenas, files, other anonymous). */
  resident: { brk: number; arenas: number; file: number; anon: number };
  /** MB committed by each V8 heap space (`new`, `old`, `code`, `large_object`, …). */
  spaces: Record<string, number>;
}

/** Has the child run a full GC (SIGUSR2 to its gc hook), then returns its RSS in MB. */
export const rssAfterGc = async (pid: number, env: Record<string, string>): Promise<number> =>
  (await memoryAfterGc(pid, env)).rss;

/**
 * Has the child run a full GC (SIGUSR2 to its gc hook), then returns its RSS and heap figures in MB.
 * `releaseYoung`: the hook also has V8 give back the young generation's emptied pages (a few more
 * seconds; see bench/gc-hook.mjs), so processes last busy at different times compare alike.
 */
export const memoryAfterGc = async (
  pid: number,
  env: Record<string, string>,
  options: { releaseYoung?: boolean } = {},
): Promise<MemoryAfterGc> => {
  const done = env.BENCH_GC_DONE_FILE as string;
  rmSync(done, { force: true });
  if (options.releaseYoung) writeFileSync(`${done}.request`, JSON.stringify({ releaseYoung: true }));
  process.kill(pid, 'SIGUSR2');
  // A heap snapshot (BENCH_HEAP_SNAPSHOT_DIR) of a few hundred MB takes a while.
  const usage = await waitFor(
    'the child to finish its GC',
    () => existsSync(done) && readFileSync(done, 'utf8'),
    300_000,
  );
  const mb = (bytes: unknown) => Number(bytes) / 2 ** 20;
  const parsed = JSON.parse(usage) as Record<string, unknown>;
  return {
    // After a heap snapshot, the RSS the hook saw before it (the snapshot leaves RSS far higher).
    rss: parsed.snapshot ? mb(parsed.rss) : rssMb(pid),
    heapTotal: mb(parsed.heapTotal),
    heapUsed: mb(parsed.heapUsed),
    external: mb(parsed.external),
    arrayBuffers: mb(parsed.arrayBuffers),
    resident: Object.fromEntries(
      Object.entries(parsed.residentKb as Record<string, number>).map(([k, kb]) => [k, kb / 1024]),
    ) as MemoryAfterGc['resident'],
    spaces: Object.fromEntries(
      Object.entries(parsed.spaces as Record<string, number>).map(([k, bytes]) => [k, mb(bytes)]),
    ),
  };
};
