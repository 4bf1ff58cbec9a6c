import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyPair } from '@whiskeysockets/baileys';
import type { AccountState } from './accounts.ts';
import { b64, fromB64 } from './signal-party.ts';

/** What the simulator keeps across restarts: its root key and every account with its devices and sessions. */
export interface SimulatorState {
  version: 1;
  rootKeyPair: { public: string; private: string };
  accounts: AccountState[];
}

const FILE = 'state.json';

/**
 * The simulator's state in `<directory>/state.json`. Every save replaces the file atomically
 * (a temporary file, then a rename), so a crash at any moment leaves the old or the new state,
 * never a torn one. The file holds private keys: it is written for the owner only.
 */
export class SimulatorStateFile {
  private lastWritten = '';
  private pending: NodeJS.Immediate | undefined;

  constructor(
    private readonly directory: string,
    private readonly snapshot: () => SimulatorState,
  ) {}

  /** The saved state, or undefined on a first start. Throws on a file that is not a state file. */
  static load(directory: string): SimulatorState | undefined {
    const path = join(directory, FILE);
    if (!existsSync(path)) return undefined;
    const state = JSON.parse(readFileSync(path, 'utf8')) as SimulatorState;
    if (state.version !== 1 || !Array.isArray(state.accounts)) {
      throw new Error(`${path} is not a simulator state file`);
    }
    return state;
  }

  /** Saves soon (once per turn of the event loop, however many changes it saw). */
  schedule(): void {
    this.pending ??= setImmediate(() => {
      this.pending = undefined;
      this.save();
    });
  }

  /** Saves now when anything changed since the last save. */
  save(): void {
    if (this.pending) {
      clearImmediate(this.pending);
      this.pending = undefined;
    }
    const text = JSON.stringify(this.snapshot());
    if (text === this.lastWritten) return;
    mkdirSync(this.directory, { recursive: true });
    const path = join(this.directory, FILE);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, path);
    this.lastWritten = text;
  }
}

export const keyPairToState = (pair: KeyPair) => ({ public: b64(pair.public), private: b64(pair.private) });
export const keyPairFromState = (pair: { public: string; private: string }): KeyPair => ({
  public: fromB64(pair.public),
  private: fromB64(pair.private),
});
