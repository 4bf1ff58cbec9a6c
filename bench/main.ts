import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BenchContext } from './bench-context.ts';
import { type BenchStack, startBenchStack } from './bench-stack.ts';
import { m1Media } from './m1-media.ts';
import { p1Memory } from './p1-memory.ts';
import { p2Cpu } from './p2-cpu.ts';
import { p3Restore } from './p3-restore.ts';
import { p4Requests } from './p4-requests.ts';
import { p5Bundles } from './p5-bundles.ts';
import { p6Deploy } from './p6-deploy.ts';
import { type Figure, formatTable, toFigures, toJson } from './report.ts';
import { type Rows, SIZES } from './sizes.ts';

// `npm run bench [-- --quick] [p1 … m1]`: issue 14's p1–p6 and issue 12's m1 (media memory) on the
// simulator and the stand-ins, each figure a ratio or a count against a baseline of the same run.
// Prints progress and the table, writes `.bench/results.json` after every row (a later row's
// failure keeps the earlier figures).

const OUT_DIR = join(import.meta.dirname, '..', '.bench');

/** The keys each row reports, so a row that fails still shows what it did not measure. */
const KEYS: Record<string, string[]> = {
  p1: ['sessions', 'mbPerSession', 'rawBaileysMbPerSession', 'ratio'],
  p2: ['runnerCpuMsPerMessage', 'rawCpuMsPerMessage', 'ratio'],
  p3: ['restoreSeconds', 'crashRestoreSeconds', 'newQr'],
  p4: ['usdPerMillionOutbound'],
  p5: [],
  p6: ['medianOfflineSeconds', 'maxOfflineSeconds', 'replacements'],
  m1: ['firstSendRatio', 'firstReceiveRatio', 'sendRatio', 'receiveRatio'],
};

const main = async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_LOOPBACK_ONLY: '1',
  });
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.filter((a) => /^[pm]\d$/.test(a));
  const size: Rows = quick ? SIZES.quick : SIZES.full;
  const wanted = (row: string) => only.length === 0 || only.includes(row);
  mkdirSync(OUT_DIR, { recursive: true });
  const started = Date.now();
  const log = (line: string) =>
    console.log(
      `[${new Date().toISOString().slice(11, 19)} +${Math.round((Date.now() - started) / 1000)}s] ${line}`,
    );
  const figures: Figure[] = [];
  const errors: Record<string, string> = {};
  const loads: number[] = [];
  let leaseSeconds = 10;
  const save = () =>
    writeFileSync(
      join(OUT_DIR, 'results.json'),
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          mode: quick ? 'quick' : 'full',
          sizes: size,
          durationSeconds: Math.round((Date.now() - started) / 1000),
          loadAverage1m: loads,
          errors,
          ...toJson(figures),
        },
        null,
        2,
      )}\n`,
    );
  const run = async (key: string, measure: () => Promise<object> | object) => {
    if (!wanted(key)) return;
    loads.push(Math.round((loadavg()[0] ?? 0) * 10) / 10);
    log(`${key}: running (load ${loads.at(-1)})`);
    try {
      const result = await measure();
      figures.push(...toFigures(key, result, leaseSeconds));
      log(`${key}: done`);
    } catch (error) {
      errors[key] = error instanceof Error ? error.message : String(error);
      log(`${key}: FAILED: ${errors[key]}`);
      for (const k of KEYS[key] ?? []) figures.push(...toFigures(key, { [k]: undefined }, leaseSeconds));
    }
    save();
  };

  await run('p5', () => p5Bundles(size.p5.runs));

  let bench: BenchStack | undefined;
  let ctx: BenchContext | undefined;
  try {
    log('starting DynamoDB Local, the S3 stand-in, the SQS double, the simulator, the API and a runner');
    bench = await startBenchStack(join(OUT_DIR, 'logs', new Date().toISOString().replace(/[:.]/g, '-')));
    leaseSeconds = bench.leaseSeconds;
    const b = bench;
    // p4 counts what a text costs in production, so its runner paces sends as production does (1 s,
    // which decides whether a text's SENT write is needed: session-runner/session-send.ts); it hands
    // the shard over (SIGTERM, lease released) to the runner the other rows share, pacing off.
    if (wanted('p4')) {
      const paced = await b.startRunner(
        { HEARTBEAT_MS: '30000', SEND_MIN_INTERVAL_MS: '1000' },
        { bundled: true },
      );
      await run('p4', () => p4Requests(b, size.p4, log));
      paced.process.child.kill('SIGTERM');
      await paced.process.exited;
    }
    // m1 measures one linked session's RSS per file, so it gets a runner of its own, holding only
    // that session (and p4's one, resumed). On the runner the rows share, after p3's restore of 200
    // sessions, its RSS before a file moved by 20-23 MB from one file to the next, and m1 measured
    // that swing (ratios 0 to 2.2 for the same file). Stopped after, its runner leaves nothing of
    // the files to the rows below; its session is the shared runner's first (linked by the
    // context, resumed there).
    let m1Context: BenchContext | undefined;
    if (wanted('m1')) {
      const own = await b.startRunner({ HEARTBEAT_MS: '30000' }, { bundled: true });
      const m = new BenchContext(b, own);
      m1Context = ctx = m;
      await run('m1', () => m1Media(m, log));
      own.process.child.kill('SIGTERM');
      await own.process.exited;
    }
    // The runner the rows share runs as the production image does: bundled, with the production
    // heartbeat (the fault stack's 1 s one and tsx more than doubled p2's idle CPU, which p2 takes
    // off its figure, and with it the noise).
    if (['p2', 'p6', 'p1', 'p3'].some(wanted)) {
      const shared = await b.startRunner({ HEARTBEAT_MS: '30000' }, { bundled: true });
      const c = m1Context ?? new BenchContext(b, shared);
      c.runner = shared;
      ctx = c;
      // p2 and p6 on the first sessions, then p1 and p3 with all of them linked.
      await run('p2', () => p2Cpu(c, size.p2, log));
      await run('p6', () => p6Deploy(c, size.p6.sessions, log));
      await run('p1', () => p1Memory(c, size.p1.sessions, log));
      await run('p3', () => p3Restore(c, size.p3.sessions, log));
    }
  } finally {
    await ctx?.close();
    await bench?.close();
  }
  console.log(`\n${formatTable(figures)}\n`);
  console.log(`results: .bench/results.json (${Math.round((Date.now() - started) / 1000)} s)`);
  process.exit(Object.keys(errors).length ? 1 : 0);
};

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
