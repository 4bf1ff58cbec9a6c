import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockChatModel } from '#shared/adapters/ai/bedrock-chat-model.ts';
import {
  type CannedResponse,
  type LoopbackServer,
  startLoopbackServer,
} from '#shared/adapters/ai/loopback-server.test-helper.ts';
import { lambdaBuildOptions } from './bundle-lambda.ts';
import { REPO_ROOT } from './paths.ts';

// The AI worker's Bedrock adapter built as the Lambdas are (SDK trimming plugin: Bedrock's errors
// unregistered but ModelNotReadyException; the event-stream payload handler left out), against a
// loopback HTTP/2 Converse double, compared with the same adapter run from source.

const execFileAsync = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'bundle-bedrock-'));
let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer({ http2: true });
});
afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const bedrockError = (status: number, type: string): CannedResponse => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
  body: { message: `${type} happened` },
});

/** What Bedrock answers, one per call: a reply, then an error of each kind the adapter maps. */
const ANSWERS: CannedResponse[] = [
  {
    status: 200,
    body: {
      output: { message: { role: 'assistant', content: [{ text: 'We open at 9.' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 42, outputTokens: 6, totalTokens: 48 },
    },
  },
  bedrockError(429, 'ThrottlingException'),
  bedrockError(503, 'ServiceUnavailableException'),
  bedrockError(424, 'ModelNotReadyException'),
  bedrockError(403, 'AccessDeniedException'),
  bedrockError(400, 'ValidationException'),
];

const REQUEST = {
  model: 'amazon.nova-lite-v1:0',
  system: 'Be brief.',
  messages: [{ role: 'user' as const, text: 'Opening hours?' }],
  maxTokens: 256,
  timeoutMs: 5000,
};

/** Each answer as the adapter returns or throws it (the probe below does the same in the bundle). */
const outcome = async (call: () => Promise<unknown>): Promise<unknown> => {
  try {
    return { reply: await call() };
  } catch (error) {
    // Not the class name: the bundle is minified. The SDK error's own name, where it is kept.
    const e = error as Error & { code?: string; kind?: string; cause?: { name?: string } };
    return { code: e.code, kind: e.kind, message: e.message, cause: e.cause?.name };
  }
};

const PROBE = `import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { BedrockChatModel } from ${JSON.stringify(join(REPO_ROOT, 'shared/adapters/ai/bedrock-chat-model.ts'))};
const outcome = ${outcome.toString()};
const client = new BedrockRuntimeClient({ endpoint: process.env.BEDROCK_ENDPOINT, maxAttempts: 1 });
const model = new BedrockChatModel(client);
const out = [];
for (let i = 0; i < ${ANSWERS.length}; i++) out.push(await outcome(() => model.complete(${JSON.stringify(REQUEST)})));
client.destroy();
console.log(JSON.stringify(out));
`;

describe('the Bedrock adapter in a Lambda bundle', () => {
  it('reads a Converse reply and maps every error by name as the adapter does from source', async () => {
    let next = 0;
    server.respond = () => ANSWERS[next++ % ANSWERS.length] as CannedResponse;

    const client = new BedrockRuntimeClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
      maxAttempts: 1,
    });
    const source: unknown[] = [];
    try {
      const model = new BedrockChatModel(client);
      for (const _ of ANSWERS) source.push(await outcome(() => model.complete(REQUEST)));
    } finally {
      client.destroy();
    }

    const entry = join(scratch, 'probe.mjs');
    writeFileSync(entry, PROBE);
    const options = lambdaBuildOptions({ entry, define: {} }, scratch);
    await build({ ...options, nodePaths: [join(REPO_ROOT, 'node_modules')], logLevel: 'error' });
    next = 0;
    server.requests.length = 0;
    const { stdout } = await execFileAsync(process.execPath, [join(scratch, 'index.mjs')], {
      cwd: scratch,
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
        AWS_SECRET_ACCESS_KEY: 'local-secret',
        BEDROCK_ENDPOINT: server.url,
      },
    });
    const bundled = JSON.parse(stdout.trim().split('\n').pop() as string) as unknown[];

    expect(server.requests).toHaveLength(ANSWERS.length);
    expect(bundled[0]).toEqual({ reply: { text: 'We open at 9.', inputTokens: 42, outputTokens: 6 } });
    // Unregistered in the bundle, registered from source: the same kinds, codes and messages.
    expect(bundled.slice(1).map((o) => (o as { kind: string }).kind)).toEqual([
      'unavailable',
      'unavailable',
      'unavailable',
      'internal',
      'invalid',
    ]);
    expect(bundled.slice(1, 4).map((o) => (o as { cause: string }).cause)).toEqual([
      'ThrottlingException',
      'ServiceUnavailableException',
      'ModelNotReadyException',
    ]);
    expect(bundled).toEqual(source);
  }, 60_000);
});
