import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const RESTART_DELAY_MS = 1000;
const STOP_LIMIT_MS = 35_000;

export interface RunnerSupervisor {
  /** The current runner process id (0 while restarting). */
  pid(): number;
  up(): boolean;
  stop(): Promise<void>;
}

/**
 * Runs the session runner as a child process of its own, as ECS runs its container, and starts a
 * new one whenever it dies. Its output goes to ours (the QR for a scan is printed there).
 */
export const superviseRunner = (
  env: Record<string, string>,
  onChange: (pid: number) => void,
): RunnerSupervisor => {
  let child: ChildProcess | undefined;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;

  const launch = () => {
    const current = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'session-runner/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child = current;
    onChange(current.pid ?? 0);
    current.once('exit', (code, signal) => {
      if (child === current) child = undefined;
      if (stopping) return;
      console.log(`session runner exited (${signal ?? code}); starting a new one`);
      onChange(0);
      timer = setTimeout(launch, RESTART_DELAY_MS);
    });
  };
  launch();

  return {
    pid: () => child?.pid ?? 0,
    up: () => child !== undefined && child.exitCode === null,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      const current = child;
      if (!current || current.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.kill('SIGTERM');
      const limit = setTimeout(() => current.kill('SIGKILL'), STOP_LIMIT_MS);
      await exited;
      clearTimeout(limit);
    },
  };
};
