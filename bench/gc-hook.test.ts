import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryAfterGc } from './proc-usage.ts';

const children: { kill(): boolean }[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

/** A node process with the bench's GC hook that first fills its young generation, then idles. */
const startChild = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-hook-test-'));
  const env = { BENCH_GC_DONE_FILE: join(dir, 'done') };
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      join(import.meta.dirname, 'gc-hook.mjs'),
      '-e',
      `const keep = []; for (let i = 0; i < 3e6; i++) { const o = { i, s: 'x' + i }; if (i % 10 === 0) keep.push(o); }
       process.stdout.write('ready\\n'); setInterval(() => keep.length, 1000);`,
    ],
    { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push({
    kill: () => {
      rmSync(dir, { recursive: true, force: true });
      return child.kill();
    },
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { pid: child.pid as number, env };
};

describe('the bench GC hook', () => {
  it('reports memory after a full GC, and gives the young generation back when asked', async () => {
    const { pid, env } = await startChild();
    const plain = await memoryAfterGc(pid, env);
    expect(plain.rss).toBeGreaterThan(plain.heapUsed);
    expect(plain.spaces.old).toBeGreaterThan(0);
    // Grown by the allocation burst and kept after a plain full GC.
    expect(plain.spaces.new).toBeGreaterThan(4);
    const released = await memoryAfterGc(pid, env, { releaseYoung: true });
    expect(released.spaces.new).toBeLessThanOrEqual(2);
  }, 60_000);
});
