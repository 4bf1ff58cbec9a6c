import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './stand-ins/free-port.ts';

// `npm start` and `npm run tenant` as a user runs them: a real process, a real port, a data folder.

const dataDir = mkdtempSync(join(tmpdir(), 'wqg-stack-'));
const running: ChildProcess[] = [];

const startStack = async (port: number) => {
  const { DEV_API_KEY: _unset, ...env } = process.env;
  const child = spawn('npm', ['start'], {
    env: { ...env, PORT: String(port), DATA_DIR: dataDir, WHATSAPP: 'simulator', SIMULATOR_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  let output = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      const line = /^ready: .*$/m.exec(output)?.[0];
      if (line) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`npm start exited ${code}: ${output}`)));
  });
  const line = await ready;
  return { child, line, output: () => output };
};

/** SIGTERM to the stack process itself (npm only wraps it); resolves with npm's exit code. */
const stopStack = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    const { stack } = JSON.parse(readFileSync(join(dataDir, 'pids.json'), 'utf8')) as { stack: number };
    process.kill(stack, 'SIGTERM');
  });

afterAll(() => {
  for (const child of running) if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const jvmCount = async () => {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((l) => l.includes('DynamoDBLocal.jar') && l.includes(dataDir)).length;
};

describe('the local stack (npm start)', () => {
  it('serves the API with a printed key, keeps data across a restart, and stops cleanly', async () => {
    const port = await freePort();
    const first = await startStack(port);
    const api = `http://127.0.0.1:${port}`;
    expect(first.line).toContain(`api=${api}`);
    const key = /development API key \(new\): (\S+)/.exec(first.output())?.[1] as string;
    expect(key).toMatch(/^wqg_/);
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    const pids = JSON.parse(readFileSync(join(dataDir, 'pids.json'), 'utf8'));
    expect(pids).toEqual({
      stack: expect.any(Number),
      dynamodb: expect.any(Number),
      runner: expect.any(Number),
    });

    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const init = await fetch(`${api}/whatsapp-qr/init`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ chatbotId: 'demo' }),
    });
    expect(init.status).toBe(201);
    const { sessionId } = (await init.json()) as { sessionId: string };

    // The tenant command talks to the running stack's data.
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'tenant', '--', 'create', 'acme'], {
      env: { ...process.env, DATA_DIR: dataDir },
    });
    const created = JSON.parse(stdout) as { tenantId: string; apiKey: string };
    const asAcme = await fetch(`${api}/whatsapp-qr/session/demo`, {
      headers: { 'x-api-key': created.apiKey },
    });
    expect(asAcme.status).toBe(404);

    expect(await stopStack(first.child)).toBe(0);
    expect(existsSync(join(dataDir, 'pids.json'))).toBe(false);
    expect(await jvmCount()).toBe(0);

    const second = await startStack(port);
    expect(second.output()).toContain(`development API key: ${key}`);
    const again = await fetch(`${api}/whatsapp-qr/session/demo`, { headers });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { sessionId: string }).sessionId).toBe(sessionId);
    expect(await stopStack(second.child)).toBe(0);
  }, 120_000);
});
