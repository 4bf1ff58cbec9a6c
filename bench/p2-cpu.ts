import { pool, sendAccepted, sleep, waitFor } from '../faults/drive.ts';
import type { BenchContext } from './bench-context.ts';
import { cpuMs } from './proc-usage.ts';

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

/** CPU ms a process spends per message on `work`, less what it spends idle in as long. */
const cpuPerMessage = async (pid: number, messages: number, work: () => Promise<void>) => {
  const idlePerMs = await settledIdleRate(pid);
  const c0 = cpuMs(pid);
  const t0 = Date.now();
  await work();
  const used = cpuMs(pid) - c0 - idlePerMs * (Date.now() - t0);
  return Math.round((Math.max(0, used) / messages) * 100) / 100;
};

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
  const runnerCpuMsPerMessage = await cpuPerMessage(ctx.runner.process.child.pid as number, messages, () =>
    runnerRound('run', size.messagesEach),
  );
  const rawCpuMsPerMessage = await cpuPerMessage(raw.pid, messages, () => rawRound('run', size.messagesEach));
  return {
    runnerCpuMsPerMessage,
    rawCpuMsPerMessage,
    ratio: Math.round((runnerCpuMsPerMessage / rawCpuMsPerMessage) * 100) / 100,
  };
};
