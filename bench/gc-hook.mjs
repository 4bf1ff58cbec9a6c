// Bench only, never loaded in production: `npm run bench` starts its runner and raw-Baileys child
// processes with `NODE_OPTIONS="--expose-gc --import <this file>"`. On SIGUSR2 the process runs a
// full garbage collection three times (and when `<BENCH_GC_DONE_FILE>.request` asks for it, gives
// the young generation's pages back: releaseYoungGeneration), then writes its `process.memoryUsage()` (JSON) to
// BENCH_GC_DONE_FILE so the bench knows it may read the process's RSS from /proc. With
// BENCH_HEAP_SNAPSHOT_FILE set, it first writes a heap snapshot to `<that>-<n>.heapsnapshot` (n counts
// the signals): profiling what a session keeps (p1).
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const doneFile = process.env.BENCH_GC_DONE_FILE;
const snapshotFile = process.env.BENCH_HEAP_SNAPSHOT_FILE;
let signals = 0;

const ARENA = 64 * 2 ** 20;
/**
 * Resident kB of the process by kind of mapping (/proc/self/smaps): glibc's main heap (`brk`), its
 * thread arenas (64 MB-aligned reservations, read-write part then the rest `---p`), files, and other
 * anonymous memory (V8's heap pages, large mallocs, stacks).
 */
const residentByKind = () => {
  const out = { brk: 0, arenas: 0, file: 0, anon: 0 };
  const maps = [];
  for (const block of readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [range, perms, , , inode, path = ''] = block.split('\n', 1)[0].trim().split(/\s+/);
    const [start, end] = range.split('-').map((h) => Number.parseInt(h, 16));
    const rss = Number(/\nRss:\s+(\d+)/.exec(block)?.[1] ?? 0);
    maps.push({ start, end, perms, file: inode !== '0', path, rss });
  }
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    if (m.path === '[heap]') out.brk += m.rss;
    else if (m.file) out.file += m.rss;
    else if (
      m.start % ARENA === 0 &&
      m.perms.startsWith('rw') &&
      next?.start === m.end &&
      next.perms === '---p' &&
      next.end - m.start === ARENA
    )
      out.arenas += m.rss;
    else out.anon += m.rss;
  });
  return out;
};
/** Committed bytes of each V8 heap space (new space grows with the allocation rate, up to a limit, and stays). */
const heapSpaces = () =>
  Object.fromEntries(
    getHeapSpaceStatistics()
      .filter((s) => s.physical_space_size > 0)
      .map((s) => [s.space_name.replace('_space', ''), s.physical_space_size]),
  );

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const newSpace = () =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;

/**
 * V8 keeps the young generation's pages after a full GC (empty, but committed: up to 32 MB, grown
 * by a busy spell such as linking sessions, whatever the number of sessions), and gives them back
 * only at a scavenge once its allocation rate over the last 5 s is low. A process measured right
 * after linking holds them and one measured after a quiet minute does not; so for a comparison
 * (p1) both are asked to give them back: a scavenge a second until the space is down to its
 * minimum (at most 20 s: a process that stays busy keeps them, and the figures show it), then a
 * last full GC.
 */
const releaseYoungGeneration = async () => {
  for (let i = 0; i < 20 && newSpace() > 2 * 2 ** 20; i++) {
    await sleep(1000);
    globalThis.gc({ type: 'minor' });
  }
  globalThis.gc();
};

if (doneFile && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', async () => {
    signals += 1;
    const request = `${doneFile}.request`;
    const releaseYoung =
      existsSync(request) && JSON.parse(readFileSync(request, 'utf8')).releaseYoung === true;
    rmSync(request, { force: true });
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await sleep(100);
    }
    if (releaseYoung) await releaseYoungGeneration();
    // Taken before the snapshot, which leaves the process's RSS hundreds of MB higher.
    const usage = process.memoryUsage();
    if (snapshotFile) writeHeapSnapshot(`${snapshotFile}-${signals}.heapsnapshot`);
    // Whole or not at all: the bench polls for the file and parses it.
    writeFileSync(
      `${doneFile}.tmp`,
      JSON.stringify({
        at: Date.now(),
        snapshot: Boolean(snapshotFile),
        ...usage,
        residentKb: residentByKind(),
        spaces: heapSpaces(),
      }),
    );
    renameSync(`${doneFile}.tmp`, doneFile);
  });
}
