import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './stand-ins/free-port.ts';
import { waitFor } from './testing/e2e-stack.ts';

// `npm start` and `npm run tenant` as a user runs them: a real process, a real port, a data folder.
// The tests run in order on one data folder: start, Ctrl-C, restart, kill -9.

const dataDir = mkdtempSync(join(tmpdir(), 'wqg-stack-'));
const running: ChildProcess[] = [];
const PHONE = '4915100000888';

interface Started {
  child: ChildProcess;
  line: string;
  output(): string;
  exited: Promise<number | null>;
}

/** `npm start` in a process group of its own, as a terminal runs it (Ctrl-C goes to the group). */
const npmStart = (port: number): Started => {
  const { DEV_API_KEY: _unset, ...env } = process.env;
  const child = spawn('npm', ['start'], {
    env: {
      ...env,
      PORT: String(port),
      DATA_DIR: dataDir,
      WHATSAPP: 'simulator',
      SIMULATOR_PORT: '0',
      // A stopping runner lets its current command receive end first: 1 s instead of 20 s (Ctrl-C).
      COMMAND_WAIT_SECONDS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, line: '', output: () => output, exited };
};

const startStack = async (port: number): Promise<Started> => {
  const started = npmStart(port);
  const line = await Promise.race([
    waitFor('the ready line', async () => /^ready: .*$/m.exec(started.output())?.[0], 90_000),
    started.exited.then((code) => {
      throw new Error(`npm start exited ${code}: ${started.output()}`);
    }),
  ]);
  return { ...started, line };
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const readPids = () =>
  JSON.parse(readFileSync(join(dataDir, 'pids.json'), 'utf8')) as {
    stack: number;
    dynamodb: number;
    runner: number;
  };

const jvmCount = async () => {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((l) => l.includes('DynamoDBLocal.jar') && l.includes(dataDir)).length;
};

afterAll(() => {
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

let port: number;
let api: string;
let key: string;
let sessionId: string;
let connectedAt: string;
let first: Started;
const headers = () => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const status = async (id: string) =>
  (await (await fetch(`${api}/whatsapp-qr/status/${id}`, { headers: headers() })).json()) as {
    status: string;
    connectedAt?: string;
  };

describe('the local stack (npm start)', () => {
  it('serves the API, links a simulator session, and refuses a second start on its DATA_DIR without touching it', async () => {
    port = await freePort();
    first = await startStack(port);
    api = `http://127.0.0.1:${port}`;
    expect(first.line).toContain(`api=${api}`);
    key = /development API key \(new\): (\S+)/.exec(first.output())?.[1] as string;
    expect(key).toMatch(/^wqg_/);
    const health = await fetch(`${api}/healthz`);
    expect({ code: health.status, ...((await health.json()) as object) }).toEqual({
      code: 200,
      status: 'ok',
      parts: { dynamodb: 'ok', sqs: 'ok', s3: 'ok', runner: 'ok', simulator: 'ok' },
    });
    const pids = readPids();
    expect(pids).toEqual({
      stack: expect.any(Number),
      dynamodb: expect.any(Number),
      runner: expect.any(Number),
    });
    expect([pids.stack, pids.dynamodb, pids.runner].every(alive)).toBe(true);

    const init = await fetch(`${api}/whatsapp-qr/init`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ chatbotId: 'demo' }),
    });
    expect(init.status).toBe(201);
    sessionId = ((await init.json()) as { sessionId: string }).sessionId;
    const qr = await waitFor('the QR', async () => {
      const res = await fetch(`${api}/whatsapp-qr/qr-code/${sessionId}`, { headers: headers() });
      return res.ok ? ((await res.json()) as { qr: string }).qr : undefined;
    });
    const sim = /simulator=(\S+)/.exec(first.line)?.[1] as string;
    const scan = await fetch(`${sim}/phones/${PHONE}/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qr }),
    });
    expect(scan.status).toBe(200);
    connectedAt = await waitFor('CONNECTED', async () => {
      const s = await status(sessionId);
      return s.status === 'CONNECTED' && s.connectedAt;
    });
    // The terminal tells the story in words, not in the runner's JSON.
    await waitFor('the connected line', async () =>
      first.output().includes(`session ${sessionId} (chatbot demo): connected as +${PHONE}`),
    );
    // The table is polled every 500 ms: CONNECTING can pass unseen, QR_READY lasts until the scan.
    expect(first.output()).toMatch(
      new RegExp(`session ${sessionId} \\(chatbot demo\\): (connecting|waiting for a QR scan)`),
    );
    expect(first.output()).not.toMatch(/^\{.*RunnerHeartbeat/m);

    const filesBefore = ['pids.json', 'stack.json'].map((f) => readFileSync(join(dataDir, f), 'utf8'));
    // Two independent processes against the running stack, started together (each loads tsx): a
    // second `npm start` on the same DATA_DIR, and the tenant command, which talks to the stack's data.
    const second = npmStart(await freePort());
    const tenantCommand = promisify(execFile)('npm', ['run', '-s', 'tenant', '--', 'create', 'acme'], {
      env: { ...process.env, DATA_DIR: dataDir },
    });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`already running (pid ${pids.stack}, api ${api})`);
    expect(['pids.json', 'stack.json'].map((f) => readFileSync(join(dataDir, f), 'utf8'))).toEqual(
      filesBefore,
    );
    expect((await fetch(`${api}/healthz`)).status).toBe(200);

    const { stdout } = await tenantCommand;
    const created = JSON.parse(stdout) as { tenantId: string; apiKey: string };
    const asAcme = await fetch(`${api}/whatsapp-qr/session/demo`, {
      headers: { 'x-api-key': created.apiKey },
    });
    expect(asAcme.status).toBe(404);
  }, 180_000);

  it('stops every process of the stack on Ctrl-C, the DynamoDB Local JVM included', async () => {
    const pids = readPids();
    process.kill(-(first.child.pid as number), 'SIGINT'); // what a terminal does on Ctrl-C
    await first.exited; // npm itself dies of the SIGINT; the stack stops in order
    await waitFor('the stop line', async () => first.output().includes('SIGINT: stopping'), 10_000);
    for (const [part, pid] of Object.entries(pids)) {
      await waitFor(`${part} (pid ${pid}) to end`, async () => !alive(pid), 10_000);
    }
    expect(existsSync(join(dataDir, 'pids.json'))).toBe(false);
    expect(await jvmCount()).toBe(0);
  }, 60_000);

  it('finds the simulator session CONNECTED after a full restart; killed with SIGKILL, its children end too', async () => {
    const again = await startStack(port);
    expect(again.output()).toContain(`development API key: ${key}`);
    await waitFor('CONNECTED after the restart', async () => {
      const s = await status(sessionId);
      return s.status === 'CONNECTED' && s.connectedAt && s.connectedAt > connectedAt;
    });
    expect(again.output()).not.toContain('logged out');

    const pids = readPids();
    process.kill(pids.stack, 'SIGKILL');
    await waitFor('the stack to die', async () => !alive(pids.stack), 10_000);
    // Nobody stops them: the runner and the JVM notice that their parent is gone.
    await waitFor('the runner to end', async () => !alive(pids.runner), 30_000);
    await waitFor('the JVM to end', async () => !alive(pids.dynamodb), 30_000);
    expect(await jvmCount()).toBe(0);
  }, 180_000);
});
