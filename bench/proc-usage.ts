import { existsSync, readFileSync, rmSync } from 'node:fs';
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
 * BENCH_CPU_PROFILE_DIR set, also SIGWINCH with a CPU profile of its own (bench/cpu-prof-hook.mjs).
 */
export const gcHookEnv = (name: string): Record<string, string> => {
  const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
  const hook = (file: string) => ` --import ${join(import.meta.dirname, file)}`;
  return {
    NODE_OPTIONS: `--expose-gc${hook('gc-hook.mjs')}${profileDir ? hook('cpu-prof-hook.mjs') : ''}`,
    BENCH_GC_DONE_FILE: join(tmpdir(), `bench-gc-${process.pid}-${name}`),
    ...(profileDir && { BENCH_CPU_PROFILE_FILE: join(profileDir, name) }),
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

/** Has the child run a full GC (SIGUSR2 to its gc hook), then returns its RSS in MB. */
export const rssAfterGc = async (pid: number, env: Record<string, string>): Promise<number> => {
  const done = env.BENCH_GC_DONE_FILE as string;
  rmSync(done, { force: true });
  process.kill(pid, 'SIGUSR2');
  await waitFor('the child to finish its GC', () => existsSync(done), 60_000);
  return rssMb(pid);
};
