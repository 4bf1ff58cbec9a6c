import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { formatRunnerOutput } from './runner-output.ts';

const ROOT = join(import.meta.dirname, '..');
const RESTART_DELAY_MS = 1000;
const STOP_LIMIT_MS = 35_000;

export interface RunnerSupervisor {
  /** The current runner process id (0 while restarting). */
  pid(): number;
  up(): boolean;
  stop(): Promise<void>;
}

export interface RunnerProcessOptions {
  env: Record<string, string>;
  /** Where the runner's JSON log lines are kept (the terminal shows only readable lines). */
  logFile: string;
  onChange(pid: number): void;
  print?(line: string): void;
}

/**
 * Runs the session runner as a child process of its own, as ECS runs its container, and starts a
 * new one whenever it dies. The runner is in a process group of its own, so a terminal's Ctrl-C
 * reaches only the stack, which stops it in order; and it ends itself when the stack dies
 * (`exit-with-parent.ts`: its stdin is our pipe).
 */
export const superviseRunner = (options: RunnerProcessOptions): RunnerSupervisor => {
  const print = options.print ?? ((line: string) => console.log(line));
  let child: ChildProcess | undefined;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;

  const launch = () => {
    const current = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        join(ROOT, 'local/exit-with-parent.ts'),
        join(ROOT, 'session-runner/main.ts'),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...options.env, EXIT_WITH_PARENT: 'stdin' },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      },
    );
    child = current;
    formatRunnerOutput(current.stdout as NodeJS.ReadableStream, options.logFile, print);
    formatRunnerOutput(current.stderr as NodeJS.ReadableStream, options.logFile, print);
    options.onChange(current.pid ?? 0);
    current.once('exit', (code, signal) => {
      if (child === current) child = undefined;
      if (stopping) return;
      print(`session runner exited (${signal ?? code}); starting a new one`);
      options.onChange(0);
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
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.kill('SIGTERM');
      const limit = setTimeout(() => current.kill('SIGKILL'), STOP_LIMIT_MS);
      await exited;
      clearTimeout(limit);
    },
  };
};
