import { pool, sendAccepted, sleep, waitFor } from '../faults/drive.ts';
import type { BenchContext } from './bench-context.ts';
import { cpuMs, profiled } from './proc-usage.ts';

export interface P2Size {
  sessions: number;
  messagesEach: number;
}

const WINDOW_MS = 2000;

/**
 * The process's idle CPU rate (ms per ms), once it has settled: 2-second windows until two in a row
 * agree (linking leaves key uploads and app-state syncs running for a while), at most 30 s.
 */
const settledIdleRate = async (pid: number) => {
  let previous = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 15; i++) {
    const c = cpuMs(pid);
    await sleep(WINDOW_MS);
    const rate = (cpuMs(pid) - c) / WINDOW_MS;
    if (Math.abs(rate - previous) <= Math.max(0.01, 0.25 * previous)) return Math.min(rate, previous);
    previous = rate;
  }
  return previous;
};

/** The idle CPU rate (ms per ms) of a process over `ms`, measured now. */
const idleRate = async (pid: number, ms: number) => {
  const c = cpuMs(pid);
  const t = Date.now();
  await sleep(ms);
  return (cpuMs(pid) - c) / (Date.now() - t);
};

const round2 = (n: number) => Math.round(n * 100) / 100;

/** What one side of p2 measured: CPU over the work window, the window, and the idle rates around it. */
export interface CpuWindow {
  grossMs: number;
  wallMs: number;
  /** Idle CPU rates (ms per ms) measured just before and just after the window. */
  idleBefore: number;
  idleAfter: number;
  messages: number;
}

/**
 * CPU ms per message net of idle work: the mean of the two idle rates times the window is taken
 * off, so idle work still winding down (or starting) on either side counts half. A net figure at or
 * below zero means the idle noise swamped the work (a loaded machine): an error, never a pass.
 */
export const netCpuPerMessage = (w: CpuWindow) => {
  const idleRate = (w.idleBefore + w.idleAfter) / 2;
  const idleMs = idleRate * w.wallMs;
  const net = w.grossMs - idleMs;
  if (net <= 0)
    throw new Error(
      `idle CPU (${Math.round(idleMs)} ms) swamped the work's (${w.grossMs} ms): measure again`,
    );
  return {
    perMessage: round2(net / w.messages),
    grossPerMessage: round2(w.grossMs / w.messages),
    idleMsPerSecond: round2(idleRate * 1000),
    wallSeconds: round2(w.wallMs / 1000),
  };
};

/**
 * One window of `messages` messages merged from several: CPU and wall time summed, and one idle
 * rate that takes off what each window's own rates took off (so the net figure is the sum of the
 * windows' net figures).
 */
export const mergeWindows = (windows: CpuWindow[]): CpuWindow => {
  const sum = (f: (w: CpuWindow) => number) => windows.reduce((a, w) => a + f(w), 0);
  const wallMs = sum((w) => w.wallMs);
  const idleRate = sum((w) => ((w.idleBefore + w.idleAfter) / 2) * w.wallMs) / wallMs;
  return {
    grossMs: sum((w) => w.grossMs),
    wallMs,
    idleBefore: idleRate,
    idleAfter: idleRate,
    messages: sum((w) => w.messages),
  };
};

/**
 * The CPU a process spends on `work`, with its idle rates: `idleBefore` as given (settled, see
 * `settledIdleRate`), `idleAfter` measured right after the work over as long as it took.
 */
const cpuWindow = async (
  pid: number,
  messages: number,
  idleBefore: number,
  work: () => Promise<void>,
): Promise<CpuWindow> => {
  const c0 = cpuMs(pid);
  const t0 = Date.now();
  // With BENCH_CPU_PROFILE_DIR set the window is profiled too (and its figure is then inflated).
  await profiled(pid, work);
  const grossMs = cpuMs(pid) - c0;
  const wallMs = Date.now() - t0;
  const idleAfter = await idleRate(pid, Math.max(WINDOW_MS, wallMs));
  return { grossMs, wallMs, idleBefore, idleAfter, messages };
};

/**
 * Measured rounds per side. The two sides take turns (runner, raw, runner, raw, …), so that a change
 * of the machine's load (other work on a shared machine) weighs on both alike; each side's figure is
 * over all its rounds, with the raw side's CPU, a few hundred ms per round, read in 10 ms ticks.
 */
const ROUNDS = 3;

/**
 * p2: runner CPU per outbound text (pacing off, `sessions` sessions sending at once, from the API
 * call until every text is at its contact) against plain Baileys `sendMessage` from as many sockets
 * in the raw process, the same texts and the same end condition. Each side sends one text per
 * session first, so neither pays the first Signal session set-up in the measurement.
 */
export const p2Cpu = async (ctx: BenchContext, size: P2Size, progress: (line: string) => void) => {
  const { stack } = ctx.b;
  const linked = await ctx.sessions(size.sessions);
  progress(`p2: ${linked.length} runner sessions linked`);
  const raw = await ctx.rawBaileys(size.sessions);
  const rawPhones = ctx.rawPhones.slice(0, size.sessions);
  progress(`p2: ${rawPhones.length} raw Baileys sockets linked`);
  const arrived = (contact: string, text: string) => stack.sim.inbox(contact).some((m) => m.text === text);
  const allArrived = (items: { contact: string; text: string }[]) =>
    waitFor('every text at its contact', () => items.every((i) => arrived(i.contact, i.text)), 300_000);

  const runnerRound = async (tag: string, each: number) => {
    const items = linked.flatMap((l) =>
      Array.from({ length: each }, (_, k) => ({ l, contact: l.contact, text: `p2 ${tag} ${l.phone} ${k}` })),
    );
    await pool(items, 20, (i) => sendAccepted(stack, i.l, i.text));
    await allArrived(items);
  };
  const rawRound = async (tag: string, each: number) => {
    const items = rawPhones.flatMap((phone, from) =>
      Array.from({ length: each }, (_, k) => ({
        from,
        to: ctx.rawContact(phone),
        contact: ctx.rawContact(phone),
        text: `p2 ${tag} ${phone} ${k}`,
      })),
    );
    await raw.send(items);
    await allArrived(items);
  };

  await runnerRound('warm', 1);
  await rawRound('warm', 1);
  const messages = size.sessions * size.messagesEach;
  const runnerPid = ctx.runner.process.child.pid as number;
  const runnerIdle = await settledIdleRate(runnerPid);
  const rawIdle = await settledIdleRate(raw.pid);
  const runnerWindows: CpuWindow[] = [];
  const rawWindows: CpuWindow[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // The idle rate after a side's previous round is the one before its next (it settled meanwhile).
    runnerWindows.push(
      await cpuWindow(runnerPid, messages, runnerWindows.at(-1)?.idleAfter ?? runnerIdle, () =>
        runnerRound(`run${round}`, size.messagesEach),
      ),
    );
    rawWindows.push(
      await cpuWindow(raw.pid, messages, rawWindows.at(-1)?.idleAfter ?? rawIdle, () =>
        rawRound(`run${round}`, size.messagesEach),
      ),
    );
  }
  const runner = netCpuPerMessage(mergeWindows(runnerWindows));
  const rawSide = netCpuPerMessage(mergeWindows(rawWindows));
  const roundRatios = runnerWindows.map((w, i) => {
    const r = rawWindows[i] as CpuWindow;
    const net = (x: CpuWindow) => x.grossMs - ((x.idleBefore + x.idleAfter) / 2) * x.wallMs;
    return round2(net(w) / Math.max(1, net(r)));
  });
  return {
    runnerCpuMsPerMessage: runner.perMessage,
    rawCpuMsPerMessage: rawSide.perMessage,
    ratio: round2(runner.perMessage / rawSide.perMessage),
    // What the two figures are made of: CPU over the windows, the idle rate taken off, the windows.
    rounds: ROUNDS,
    // Each round's ratio (runner round i against raw round i): how much the figure moved.
    ...Object.fromEntries(roundRatios.map((r, i) => [`round${i + 1}Ratio`, r])),
    runnerGrossCpuMsPerMessage: runner.grossPerMessage,
    runnerIdleCpuMsPerSecond: runner.idleMsPerSecond,
    runnerWallSeconds: runner.wallSeconds,
    rawGrossCpuMsPerMessage: rawSide.grossPerMessage,
    rawIdleCpuMsPerSecond: rawSide.idleMsPerSecond,
    rawWallSeconds: rawSide.wallSeconds,
  };
};
