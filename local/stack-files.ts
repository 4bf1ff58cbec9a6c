import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

// Files the local stack keeps under DATA_DIR: what other processes (the tenant CLI, tests) read
// to find the running stack, and the generated development key.

export interface StackState {
  pid: number;
  apiUrl: string;
  env: Record<string, string>;
}

export const pidsFile = (dataDir: string) => join(dataDir, 'pids.json');
const stateFile = (dataDir: string) => join(dataDir, 'stack.json');
const lockFile = (dataDir: string) => join(dataDir, 'stack.lock');
const devKeyFile = (dataDir: string) => join(dataDir, 'dev-api-key');

export const writePids = (dataDir: string, pids: Record<string, number>) =>
  writeFileSync(pidsFile(dataDir), `${JSON.stringify(pids, null, 2)}\n`);

export const writeStackState = (dataDir: string, state: StackState) =>
  writeFileSync(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The running stack's endpoints and table names, or undefined when no stack runs on this DATA_DIR. */
export const readStackState = (dataDir: string): StackState | undefined => {
  if (!existsSync(stateFile(dataDir))) return undefined;
  const state = JSON.parse(readFileSync(stateFile(dataDir), 'utf8')) as StackState;
  return isAlive(state.pid) ? state : undefined; // left behind by a stack that was killed
};

export const clearRuntimeFiles = (dataDir: string) => {
  rmSync(stateFile(dataDir), { force: true });
  rmSync(pidsFile(dataDir), { force: true });
  rmSync(lockFile(dataDir), { force: true });
};

/** A second start on a DATA_DIR whose stack runs: refused before it touches anything. */
export class AlreadyRunningError extends Error {
  readonly code = 'ALREADY_RUNNING';
  constructor(
    readonly pid: number,
    readonly apiUrl: string | undefined,
  ) {
    super(`already running (pid ${pid}, api ${apiUrl ?? 'still starting'})`);
  }
}

/**
 * Makes this process the DATA_DIR's only stack: creates `stack.lock` with our pid, exclusively.
 * A lock left by a stack that died is taken over; one whose process lives throws
 * {@link AlreadyRunningError} and changes nothing.
 */
export const claimDataDir = (dataDir: string): void => {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile(dataDir), 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(lockFile(dataDir), 'utf8').trim());
    if (holder && holder !== process.pid && isStackProcess(holder)) {
      const state = existsSync(stateFile(dataDir))
        ? (JSON.parse(readFileSync(stateFile(dataDir), 'utf8')) as StackState)
        : undefined;
      throw new AlreadyRunningError(holder, state?.pid === holder ? state.apiUrl : undefined);
    }
    rmSync(lockFile(dataDir), { force: true }); // left behind by a stack that was killed
  }
  throw new Error(`cannot lock ${lockFile(dataDir)}`);
};

// A pid from an old lock may have been reused since: on Linux, only a node process counts.
const isStackProcess = (pid: number): boolean => {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true; // no /proc: trust the pid
  }
};

/** The development key kept from an earlier start, so a restart keeps working with the same key. */
export const readDevKey = (dataDir: string): string | undefined =>
  existsSync(devKeyFile(dataDir)) ? readFileSync(devKeyFile(dataDir), 'utf8').trim() || undefined : undefined;

export const saveDevKey = (dataDir: string, key: string) => {
  writeFileSync(devKeyFile(dataDir), `${key}\n`, { mode: 0o600 });
  chmodSync(devKeyFile(dataDir), 0o600);
};
