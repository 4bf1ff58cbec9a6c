import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../stand-ins/free-port.ts';

// The local stack as a tenant starts it (`npm start` with WHATSAPP=simulator), for the end-to-end
// test files: one copy of the start-up, the ready line and the clean stop instead of one per file.
// A test file that calls `startE2eStack(` is put in the integration project (test-projects.ts).

/** The process ids `npm start` writes to `pids.json` in its data folder. */
export interface StackPids {
  stack: number;
  runner: number;
  dynamodb: number;
}

/** A running `npm start` in a data folder of its own. */
export interface E2eStack {
  /** The API's base URL (`http://127.0.0.1:<port>`), routes under `/whatsapp-qr`. */
  api: string;
  /** The simulator's control API. */
  sim: string;
  /** The development API key the stack made. */
  key: string;
  dataDir: string;
  /** Everything the stack printed so far (stdout and stderr). */
  output(): string;
  /** The stack's current `pids.json` (the runner's pid changes when it is restarted). */
  pids(): StackPids;
  /**
   * SIGTERM to the stack (it stops its children), waits for it to exit (SIGKILL to its process group
   * after 30 s), removes the data folder. Safe to call twice.
   */
  stop(): Promise<void>;
}

export interface E2eStackOptions {
  /** Prefix of the temporary data folder, to tell the test files' stacks apart. */
  name: string;
  /** More environment for `npm start` (e.g. `WEBHOOK_FIRST_RETRY_SECONDS`). */
  env?: Record<string, string>;
  /** How long the ready line may take (the JVM, tsx and the runner start on 2 loaded cores). */
  readyTimeoutMs?: number;
}

/** How long a stack may take to stop on SIGTERM before its whole process group is killed. */
const STOP_TIMEOUT_MS = 30_000;

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
};

/** Polls `check` every 250 ms until it returns a value other than `undefined` / `false`; throws after `timeoutMs`. */
export const waitFor = async <T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

/**
 * Starts `npm start` with the simulator on a free API port and resolves on its ready line. Rejects
 * (with the output) when the stack exits first or the line does not come in time; the caller's
 * `afterAll` should still call `stop()`, which is safe on a stack that never started.
 */
export const startE2eStack = async (options: E2eStackOptions): Promise<E2eStack> => {
  // Free ports are picked, then bound by the stack a moment later: with integration files running
  // side by side, another process can take one in between (EADDRINUSE). Such a start is retried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
};

const startOnce = async (options: E2eStackOptions): Promise<E2eStack> => {
  const dataDir = mkdtempSync(join(tmpdir(), `wqg-${options.name}-`));
  const port = await freePort();
  // A key the caller's shell holds would replace the one the stack writes to its data folder.
  const { DEV_API_KEY: _unset, ...env } = process.env;
  const child: ChildProcess = spawn('npm', ['start'], {
    env: {
      ...env,
      PORT: String(port),
      DATA_DIR: dataDir,
      WHATSAPP: 'simulator',
      SIMULATOR_PORT: '0',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      // The runner's command receive waits 1 s instead of 20 s: a stopping runner lets its current
      // long poll end before it exits (command-consumer.ts), which made every stop() take ~20 s.
      COMMAND_WAIT_SECONDS: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, so a stack that hangs on stop can be killed whole (npm, the
    // stack, the JVM, the runner).
    detached: true,
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const pids = () => JSON.parse(readFileSync(join(dataDir, 'pids.json'), 'utf8')) as StackPids;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // `npm start` does not forward SIGTERM to its child on every npm version: signal the stack itself.
      let pid: number | undefined;
      try {
        pid = pids().stack;
      } catch {
        pid = undefined;
      }
      signal(pid ?? -(child.pid as number), 'SIGTERM');
      const timeout = new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS, 'timeout').unref());
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        signal(-(child.pid as number), 'SIGKILL');
        await exited;
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const base = { api: `http://127.0.0.1:${port}`, dataDir, output: () => output, pids, stop };
  let line: string;
  try {
    line = await Promise.race([
      waitFor('the ready line', () => /^ready: .*$/m.exec(output)?.[0], options.readyTimeoutMs ?? 90_000),
      exited.then(() => {
        throw new Error(`npm start exited before it was ready:\n${output}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ...base,
    sim: /simulator=(\S+)/.exec(line)?.[1] as string,
    key: readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim(),
  };
};
