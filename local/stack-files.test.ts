import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyRunningError, claimDataDir, clearRuntimeFiles } from './stack-files.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('claiming a DATA_DIR', () => {
  it('refuses while the stack that holds it lives, naming its pid and api, and changes no file', () => {
    dir = mkdtempSync(join(tmpdir(), 'wqg-claim-'));
    const holder = process.ppid; // a live node process that is not this one
    writeFileSync(join(dir, 'stack.lock'), `${holder}\n`);
    writeFileSync(
      join(dir, 'stack.json'),
      JSON.stringify({ pid: holder, apiUrl: 'http://127.0.0.1:3999', env: {} }),
    );
    writeFileSync(join(dir, 'pids.json'), JSON.stringify({ stack: holder }));
    const before = ['stack.lock', 'stack.json', 'pids.json'].map((f) => readFileSync(join(dir, f), 'utf8'));

    expect(() => claimDataDir(dir)).toThrow(AlreadyRunningError);
    expect(() => claimDataDir(dir)).toThrow(`already running (pid ${holder}, api http://127.0.0.1:3999)`);
    expect(['stack.lock', 'stack.json', 'pids.json'].map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual(
      before,
    );
  });

  it('takes over the lock of a stack that was killed, and gives it up on stop', () => {
    dir = mkdtempSync(join(tmpdir(), 'wqg-claim-'));
    writeFileSync(join(dir, 'stack.lock'), '2147483646\n'); // no such process
    claimDataDir(dir);
    expect(readFileSync(join(dir, 'stack.lock'), 'utf8').trim()).toBe(String(process.pid));
    clearRuntimeFiles(dir);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  });
});
