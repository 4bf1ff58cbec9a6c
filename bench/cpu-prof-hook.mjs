// Bench only, never loaded in production: with BENCH_CPU_PROFILE_FILE set, `npm run bench` also
// imports this file in its runner and raw-Baileys children. The first SIGWINCH starts the V8 CPU
// profiler, the next one stops it and writes the profile (a .cpuprofile, for DevTools or
// bench/cpu-prof-top.ts), so a row can profile just its measured window. `--cpu-prof` is no use
// here: the bench ends its children with SIGKILL, before an exit-time profile is written.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.BENCH_CPU_PROFILE_FILE;
if (file) {
  const session = new Session();
  session.connect();
  let running = false;
  let count = 0;
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  process.on('SIGWINCH', async () => {
    if (!running) {
      running = true;
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 500 });
      await post('Profiler.start');
      return;
    }
    running = false;
    const { profile } = await post('Profiler.stop');
    count += 1;
    writeFileSync(`${file}.${count}.cpuprofile`, JSON.stringify(profile));
  });
}
