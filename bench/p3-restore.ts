import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Simulator } from '#local/simulator/index.ts';
import { waitFor } from '../faults/drive.ts';
import type { RunnerProcess } from '../faults/fault-stack.ts';
import type { BenchContext } from './bench-context.ts';
import { startSelfProfile } from './cpu-prof-self.ts';
import { watchDevices } from './device-watch.ts';
import { cpuMs } from './proc-usage.ts';

/** Runner log lines that mark a phase of a handover (the bench runs its runners at INFO). */
const MARKS = [
  'runner draining',
  'sessions closed and leases released',
  'runner stopped',
  'runner started',
  'shard lease acquired',
  'shard resumed',
] as const;
type Mark = (typeof MARKS)[number];

/** Records when (ms since `t0`) each mark first shows up in a runner's output. */
const tapMarks = (child: ChildProcess, t0: number, seen: Partial<Record<Mark, number>>) => {
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines)
      for (const mark of MARKS)
        if (seen[mark] === undefined && line.includes(`"message":"${mark}"`)) seen[mark] = Date.now() - t0;
  });
};

/** Lease of the runner that links the sessions (not of the runners measured). */
const LINK_LEASE_MS = 180_000;

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms / 100) / 10);

/** The S3 requests (by method and object kind) between two readings of the counting hop. */
const delta = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after).flatMap(([k, n]) => (n - (before[k] ?? 0) > 0 ? [[k, n - (before[k] ?? 0)]] : [])),
  );

/** Busy and total CPU ms of the whole machine so far (/proc/stat, 10 ms ticks). */
const machineCpuMs = () => {
  const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/);
  const n = ticks.map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: (total - (n[3] ?? 0) - (n[4] ?? 0)) * 10, total: total * 10 };
};

/** Where the runner `pid` writes its first CPU profile (bench/cpu-prof-hook.mjs), if it profiles. */
const profileFileOf = (pid: number): string | undefined => {
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const file = env.find((e) => e.startsWith('BENCH_CPU_PROFILE_FILE='))?.slice(23);
  return file ? `${file}.1.cpuprofile` : undefined;
};

/** Ms since `t0` when the share of `phones` online at the simulator first reached each of `shares`. */
const watchShares = (sim: Simulator, phones: string[], t0: number, shares: number[]) => {
  const reached: Record<string, number> = {};
  const dipped = new Set<number>();
  const wanted = new Set(phones);
  const timer = setInterval(() => {
    const online = new Set(
      sim
        .stats()
        .devices.filter((d) => d.connections > 0)
        .map((d) => d.jid.split(/[:@]/)[0])
        .filter((p) => p !== undefined && wanted.has(p)),
    ).size;
    for (const share of shares) {
      const needed = Math.ceil(share * phones.length);
      // Counted once the share was lost first: right after a kill -9 the simulator has not yet
      // seen every socket close (the crash's halfOnline read 0.2 s).
      if (online < needed) dipped.add(share);
      else if (reached[share] === undefined && dipped.has(share)) reached[share] = Date.now() - t0;
    }
  }, 100);
  return { reached, stop: () => clearInterval(timer) };
};

/**
 * Stops the runner with `signal`, starts a new one once it is gone (as ECS replaces a task), and
 * returns the seconds from the signal until every session's device is online again at the simulator,
 * with the phases in between (seconds since the signal) and the S3 requests of each side.
 */
const restart = async (
  ctx: BenchContext,
  signal: NodeJS.Signals,
  phones: string[],
  timeoutMs: number,
  progress: (line: string) => void,
) => {
  const watch = watchDevices(ctx.b.stack.sim, phones);
  const s3 = ctx.b.counters.s3;
  const dynamo = ctx.b.counters.dynamodb;
  const before = s3.details();
  const dynamoBefore = dynamo.counts();
  const t0 = Date.now();
  const old: Partial<Record<Mark, number>> = {};
  const next: Partial<Record<Mark, number>> = {};
  let shares: ReturnType<typeof watchShares> | undefined;
  try {
    tapMarks(ctx.runner.process.child, t0, old);
    ctx.runner.process.child.kill(signal);
    await ctx.runner.process.exited;
    const exited = Date.now() - t0;
    const atExit = s3.details();
    const dynamoAtExit = dynamo.counts();
    await waitFor('a device offline', () => !watch.allOnline(), 30_000).catch(() => undefined);
    // From here on the devices come back (before, the old runner's were still online).
    shares = watchShares(ctx.b.stack.sim, phones, t0, [0.5, 0.9]);
    const spawned = Date.now() - t0;
    const count = ctx.b.stack.runners().length;
    // As the production image runs it: bundled (tsx's loading is not part of a deploy), and with
    // the production heartbeat (30 s; the fault stack's 1 s one writes every session's
    // `runnerSeenAt` every second, 200 DynamoDB writes a second competing with the resume).
    const starting = ctx.b.startRunner({ HEARTBEAT_MS: '30000' }, { bundled: true });
    // Tapped as soon as it is spawned (it takes a second or more to load before it logs anything).
    await waitFor('the new runner spawned', () => ctx.b.stack.runners().length > count, 30_000);
    const child = (ctx.b.stack.runners().at(-1) as RunnerProcess).child;
    tapMarks(child, t0, next);
    // Where the new runner's seconds go: its CPU, this process's (the simulator, the API, the S3
    // stand-in and the counting hops all run here), DynamoDB Local's and the whole machine's, from its start until all
    // are online; with BENCH_CPU_PROFILE_DIR also a CPU profile of the runner over that window.
    await waitFor('the new runner started', () => next['runner started'] !== undefined, 60_000);
    const pid = child.pid as number;
    const profileFile = profileFileOf(pid);
    if (profileFile) process.kill(pid, 'SIGWINCH');
    // The bench process itself over the same window (it was the larger consumer at 200 sessions).
    const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
    const selfProfile = profileDir ? await startSelfProfile() : undefined;
    const jvm = ctx.b.dynamoDbLocalPid;
    const cpu0 = {
      runner: cpuMs(pid),
      bench: process.cpuUsage(),
      dynamo: cpuMs(jvm),
      machine: machineCpuMs(),
      at: Date.now(),
    };
    ctx.runner = await starting;
    const healthy = Date.now() - t0;
    await waitFor('every device online at the simulator', () => watch.allOnline(), timeoutMs);
    const online = Date.now() - t0;
    const benchCpu = process.cpuUsage(cpu0.bench);
    const machine = machineCpuMs();
    const cpu = {
      wallMs: Date.now() - cpu0.at,
      runnerCpuMs: cpuMs(pid) - cpu0.runner,
      benchProcessCpuMs: Math.round((benchCpu.user + benchCpu.system) / 1000),
      dynamoDbLocalCpuMs: cpuMs(jvm) - cpu0.dynamo,
      machineBusyMs: machine.busy - cpu0.machine.busy,
      machineTotalMs: machine.total - cpu0.machine.total,
    };
    if (selfProfile && profileDir)
      await selfProfile.stop(join(profileDir, `bench-p3-${signal}-${Date.now()}.cpuprofile`));
    if (profileFile) {
      process.kill(pid, 'SIGWINCH');
      await waitFor('the runner profile written', () => existsSync(profileFile), 60_000).catch(
        () => undefined,
      );
    }
    const phases = {
      draining: seconds(old['runner draining']),
      sessionsClosed: seconds(old['sessions closed and leases released']),
      oldExited: seconds(exited),
      newSpawned: seconds(spawned),
      newStarted: seconds(next['runner started']),
      newHealthy: seconds(healthy),
      leaseAcquired: seconds(next['shard lease acquired']),
      shardResumed: seconds(next['shard resumed']),
      halfOnline: seconds(shares.reached['0.5']),
      ninetyPercentOnline: seconds(shares.reached['0.9']),
      allOnline: seconds(online),
    };
    const s3Old = delta(atExit, before);
    const s3New = delta(s3.details(), atExit);
    const dynamoOld = delta(dynamoAtExit, dynamoBefore);
    const dynamoNew = delta(dynamo.counts(), dynamoAtExit);
    progress(`p3 ${signal} phases (s since the signal): ${JSON.stringify(phases)}`);
    progress(`p3 ${signal} S3 until the old runner exited: ${JSON.stringify(s3Old)}`);
    progress(`p3 ${signal} S3 from then until all online: ${JSON.stringify(s3New)}`);
    progress(`p3 ${signal} DynamoDB until the old runner exited: ${JSON.stringify(dynamoOld)}`);
    progress(`p3 ${signal} DynamoDB from then until all online: ${JSON.stringify(dynamoNew)}`);
    progress(`p3 ${signal} CPU ms from the new runner's start until all online: ${JSON.stringify(cpu)}`);
    return { seconds: Math.round(online / 100) / 10, phases, cpu };
  } finally {
    shares?.stop();
    watch.stop();
  }
};

/**
 * p3: with `sessions` linked (or BENCH_P3_SESSIONS), seconds until all are online again at the simulator after a graceful
 * restart (SIGTERM, then a new runner) and after a kill -9 (the new runner waits for the lease to
 * run out); sessions that show a new QR afterwards.
 */
export const p3Restore = async (ctx: BenchContext, sessions: number, progress: (line: string) => void) => {
  // BENCH_P3_SESSIONS: another size for this row alone (linking 200 on a loaded machine takes minutes).
  const count = Number(process.env.BENCH_P3_SESSIONS || sessions);
  await ctx.b.bundleRunner();
  if (ctx.linked.length < count) {
    // Linking hundreds under load 15-20, the runner lost its 30 s lease again and again (renewals of
    // 2-7 s timing out) and dropped every session: only the runner that links gets a long lease. The
    // restarts measured below start their runners with the production lease (the kill -9 waits for it).
    progress(`p3: linking ${count} sessions with a ${LINK_LEASE_MS / 1000} s lease runner`);
    ctx.runner.process.child.kill('SIGTERM');
    await ctx.runner.process.exited;
    ctx.runner = await ctx.b.startRunner(
      { LEASE_DURATION_MS: String(LINK_LEASE_MS), HEARTBEAT_MS: '30000' },
      { bundled: true },
    );
  }
  const linked = await ctx.sessions(count);
  const phones = linked.map((l) => l.phone);
  progress(`p3: ${linked.length} sessions linked`);
  const graceful = await restart(ctx, 'SIGTERM', phones, 300_000, progress);
  progress(`p3: graceful restart: all online after ${graceful.seconds} s`);
  const crash = await restart(ctx, 'SIGKILL', phones, 300_000, progress);
  progress(`p3: kill -9: all online after ${crash.seconds} s`);
  const stored = await Promise.all(linked.map((l) => ctx.b.stack.sessions.get(l.sessionId)));
  return {
    sessions: linked.length,
    restoreSeconds: graceful.seconds,
    crashRestoreSeconds: crash.seconds,
    newQr: stored.filter((s) => s?.status === 'QR_READY').length,
    phases: { graceful: graceful.phases, crash: crash.phases },
  };
};
