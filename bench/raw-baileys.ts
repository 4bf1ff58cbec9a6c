import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Simulator } from '#local/simulator/index.ts';
import { gcHookEnv } from './proc-usage.ts';
import type { RawCommand } from './raw-baileys-child.ts';

/** The raw-Baileys baseline process (bench/raw-baileys-child.ts), driven over IPC. */
export interface RawBaileys {
  pid: number;
  gcEnv: Record<string, string>;
  /** Links one plain socket per phone (pre-paired credentials from the simulator) and waits until each is open. */
  link(phones: string[]): Promise<void>;
  /** Sends every text at once from the given socket (by link order); resolves when Baileys resolved each. */
  send(sends: { from: number; to: string; text: string }[]): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the baseline process against the simulator, with the bench's GC hook. */
export const startRawBaileys = async (sim: Simulator): Promise<RawBaileys> => {
  const gcEnv = gcHookEnv('raw');
  const child: ChildProcess = fork(join(import.meta.dirname, 'raw-baileys-child.ts'), {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      ...gcEnv,
      BENCH_SIM_WS: sim.url,
      BENCH_SIM_HTTP: sim.httpUrl,
      BENCH_SIM_ROOT: sim.rootPublicKeyHex,
      BENCH_AUTH_DIR: mkdtempSync(join(tmpdir(), 'bench-raw-auth-')),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = (type: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type !== type && m.type !== 'error') return;
        child.off('message', onMessage);
        if (m.type === 'error') reject(new Error(`raw Baileys: ${m.message}`));
        else resolve();
      };
      child.on('message', onMessage);
      exited.then(() => reject(new Error('raw Baileys process exited')));
    });
  const ask = (command: RawCommand, answer: string) => {
    const done = next(answer);
    child.send(command);
    return done;
  };
  await next('ready');
  return {
    pid: child.pid as number,
    gcEnv,
    link: (phones) => ask({ type: 'link', phones }, 'linked'),
    send: (sends) => ask({ type: 'send', sends }, 'sent'),
    stop: async () => {
      if (child.exitCode === null) child.send({ type: 'stop' } satisfies RawCommand);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
};
