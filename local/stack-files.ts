import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
};

/** The development key kept from an earlier start, so a restart keeps working with the same key. */
export const readDevKey = (dataDir: string): string | undefined =>
  existsSync(devKeyFile(dataDir)) ? readFileSync(devKeyFile(dataDir), 'utf8').trim() || undefined : undefined;

export const saveDevKey = (dataDir: string, key: string) => {
  writeFileSync(devKeyFile(dataDir), `${key}\n`, { mode: 0o600 });
  chmodSync(devKeyFile(dataDir), 0o600);
};
