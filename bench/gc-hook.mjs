// Bench only, never loaded in production: `npm run bench` starts its runner and raw-Baileys child
// processes with `NODE_OPTIONS="--expose-gc --import <this file>"`. On SIGUSR2 the process runs a
// full garbage collection three times, then writes the time to BENCH_GC_DONE_FILE so the bench
// knows it may read the process's RSS from /proc.
import { writeFileSync } from 'node:fs';

const doneFile = process.env.BENCH_GC_DONE_FILE;
if (doneFile && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    writeFileSync(doneFile, String(Date.now()));
  });
}
