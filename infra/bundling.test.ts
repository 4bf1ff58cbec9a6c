import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZER_ENTRY, ROUTES } from '#functions/http/routes.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { bundleLambdas, type LambdaBundle } from './bundle-lambdas.ts';
import { bundleRunner, ESM_REQUIRE_BANNER } from './bundle-runner.ts';
import { REPO_ROOT } from './paths.ts';
import { synthGateway } from './test-support.ts';

const execFileAsync = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'wa-infra-bundling-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const RUNNER_ENTRY = 'session-runner/main.ts';
const authorizerExists = existsSync(join(REPO_ROOT, AUTHORIZER_ENTRY));

/** The target for every function: 300 KB (KB as the README and `npm run bench` print them). */
const TARGET_BYTES = 300 * 1024;

/**
 * The most a Lambda's code (index.mjs) may weigh, and why when it is above the target (figures of
 * the README's Performance section): the send route holds the S3 client on top of DynamoDB and
 * SQS (388 KB), the AI worker the Bedrock and Secrets Manager clients on top of DynamoDB and SQS
 * (334 KB). Both limits are their sizes after the error-registration, retry/region and event-stream
 * payload trims (infra/bundle-sdk-*.ts), with 2 KB to spare, so that they can only shrink.
 */
const limitOf = (b: LambdaBundle): number => {
  if (b.id.startsWith('AiWorker')) return 336 * 1024;
  if (b.id.startsWith('HttpApiSendMessage')) return 390 * 1024;
  return TARGET_BYTES;
};

/** A bundle with its code read. */
type ReadBundle = LambdaBundle & { code: string };

describe('Lambda bundles (the one test that runs esbuild through CDK, for every function of the app)', () => {
  const bundles: ReadBundle[] = [];
  const bundle = (fragment: string): ReadBundle => {
    const found = bundles.find((b) => b.id.includes(fragment));
    if (!found) throw new Error(`no bundle of ${fragment}`);
    return found;
  };

  beforeAll(() => {
    if (!authorizerExists) return;
    // Bundling on: the whole app, as `cdk synth` builds it.
    for (const b of bundleLambdas(join(scratch, 'app'))) {
      bundles.push({ ...b, code: readFileSync(join(b.dir, 'index.mjs'), 'utf8') });
    }
    const rows = bundles.map((b) => `${String(Math.round(b.bytes / 1024)).padStart(6)} KB  ${b.id}`);
    console.log(`Lambda bundles (index.mjs, minified):\n${rows.join('\n')}`);
  }, 300_000); // 28 bundles through CDK: about 90 s on 2 idle cores, more under load

  it.skipIf(!authorizerExists)(
    'bundles every route, the authorizer, the AI worker and the webhook functions',
    () => {
      const ids = bundles.map((b) => b.id).join(' ');
      for (const route of ROUTES) expect(ids).toContain(`HttpApi${route.id}Function`);
      for (const id of ['Authorizer', 'AiWorker']) expect(ids).toContain(id);
    },
  );

  it.skipIf(!authorizerExists)(
    'keeps every bundle under 300 KB but the send route and the AI worker (under their own limits)',
    () => {
      for (const b of bundles) expect(b.bytes, b.id).toBeLessThanOrEqual(limitOf(b));
      expect(bundles.filter((b) => limitOf(b) === TARGET_BYTES).length).toBe(bundles.length - 2);
    },
  );

  it.skipIf(!authorizerExists)('carries zod/mini with its English messages, not classic zod', () => {
    for (const b of bundles) {
      expect(b.code, b.id).toContain('"ZodMiniObject"');
      expect(b.code, b.id).not.toContain('"ZodObject"');
      // shared/zod.ts sets the English locale; a bundler dropping that call would leave "Invalid input".
      expect(b.code, b.id).toContain('Invalid input: expected ');
    }
  });

  it.skipIf(!authorizerExists)(
    'leaves out what a function never uses: the S3 client, SQS without a queue, DynamoDB without a table, zod locales, the STS and SSO credential chain, event streams, pure-JS crypto, the test-time call recorder',
    () => {
      for (const b of bundles) {
        // The client names are string literals of the SDK (the middleware context's clientName).
        expect(b.code.includes('"DynamoDBClient"'), b.id).toBe(
          b.envKeys.some((key) => key.endsWith('_TABLE')),
        );
        // Only the media route reads S3 (functions/http/media-deps.ts keeps it out of the others).
        expect(b.code.includes('"S3Client"'), b.id).toBe(b.envKeys.includes('AUTH_STATE_BUCKET'));
        expect(b.code.includes('"SQSClient"'), b.id).toBe(b.envKeys.some((key) => /QUEUE_URL/.test(key)));
        // A German zod message stands for the locales the classic `z` namespace would drag in.
        expect(b.code, b.id).not.toContain('Ungültige Eingabe');
        expect(b.code, b.id).not.toContain('AssumeRoleWithWebIdentity');
        // The event-stream codec (infra/bundle-without-event-streams.ts stands in for it).
        expect(b.code, b.id).not.toContain('Reported message length does not match');
        // Its payload signing (infra/bundle-without-event-stream-handler.ts).
        expect(b.code.includes('Eventstream payload must be a Readable stream.'), b.id).toBe(false);
        // mnemonist's LRU (infra/bundle-lru-cache.ts), fast-sha256 and @stablelib/base64
        // (infra/bundle-webhook-crypto.ts), the call recorder of the IAM check (tests only).
        expect(b.code, b.id).not.toContain('mnemonist');
        expect(b.code, b.id).not.toContain('Base64Coder');
        expect(b.code, b.id).not.toContain("SHA256: can't update because hash was finished.");
        expect(b.code, b.id).not.toContain('AWS_CALL_LOG_DIR');
        // The S3 operations no function sends, and a client's package.json beyond name and
        // version (infra/bundle-sdk-trim.ts).
        expect(b.code, b.id).not.toContain('"ListObjectsV2"');
        expect(b.code, b.id).not.toContain('Client for Node.js, Browser and React Native');
        // pngjs (infra/bundle-png-writer.ts writes the QR route's PNG).
        expect(b.code, b.id).not.toContain('Invalid file signature');
        // The instance-metadata region lookup and the adaptive retry's rate limiter
        // (infra/bundle-sdk-left-out.ts).
        expect(b.code.includes('from instance metadata service'), b.id).toBe(false);
        expect(b.code.includes('getSendToken'), b.id).toBe(false);
        // Errors of a service our adapters do not tell apart are not registered, so their classes
        // are gone; the condition failures they read stay (infra/bundle-sdk-errors.ts).
        expect(b.code.includes('com.amazonaws.dynamodb#BackupInUseException'), b.id).toBe(false);
        expect(b.code.includes('com.amazonaws.sqs#InvalidAttributeName'), b.id).toBe(false);
        expect(b.code.includes('com.amazonaws.dynamodb#TransactionCanceledException'), b.id).toBe(
          b.code.includes('"DynamoDBClient"'),
        );
      }
      // A route holds its own entry of the route table, not the others (their summaries and schemas).
      expect(bundle('HttpApiGetStatusFunction').code).toContain('The status of a session');
      expect(bundle('HttpApiGetStatusFunction').code).not.toContain('Queue a text, or a file');
      // The OpenAPI document and the media link use no table.
      expect(bundle('HttpApiGetOpenApiFunction').code).not.toContain('"DynamoDBClient"');
      expect(bundle('HttpApiGetStatusFunction').code).toContain('"DynamoDBClient"');
      // Routes that send no command carry no SQS client (route-deps.ts, app-function.ts).
      expect(bundle('HttpApiGetStatusFunction').code).not.toContain('"SQSClient"');
      expect(bundle('HttpApiSendMessageFunction').code).toContain('"SQSClient"');
      // A route's stores on tables it does not declare fold away (BUNDLE_WITHOUT_<TABLE>): the
      // status route declares no messages table, the message route does.
      const messageStoreUpdate = '#media.#size = :size';
      expect(bundle('HttpApiGetStatusFunction').code).not.toContain(messageStoreUpdate);
      expect(bundle('HttpApiGetMessageFunction').code).toContain(messageStoreUpdate);
    },
  );

  it.skipIf(!authorizerExists)(
    'is one minified ESM file per function, its source map beside it, with the createRequire banner',
    () => {
      for (const b of bundles) {
        expect(readdirSync(b.dir).sort(), b.id).toEqual(['index.mjs', 'index.mjs.map']);
        expect(b.code.startsWith(ESM_REQUIRE_BANNER), b.id).toBe(true);
        expect(b.code, b.id).toMatch(/export\s*\{[^}]*handler/);
        expect(b.code, b.id).not.toMatch(/from\s*["']@aws-sdk\//);
      }
    },
  );

  it.skipIf(!authorizerExists)('every bundle loads under plain node with nothing but its own folder', () => {
    // Copied out of the repository so nothing can come from node_modules.
    const isolated = join(scratch, 'isolated-lambdas');
    for (const b of bundles) cpSync(b.dir, join(isolated, b.id), { recursive: true });
    const script = `for (const id of ${JSON.stringify(bundles.map((b) => b.id))}) { const m = await import('./' + id + '/index.mjs'); console.log(id, typeof m.handler); }`;
    const out = execFileSync(
      process.execPath,
      ['--enable-source-maps', '--input-type=module', '-e', script],
      {
        cwd: isolated,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' },
      },
    );
    expect(out.trim().split('\n').sort()).toEqual(bundles.map((b) => `${b.id} function`).sort());
  });

  it.skipIf(!authorizerExists)(
    'signs its AWS calls with the credentials the Lambda runtime puts in the environment (the lean credential chain)',
    async () => {
      const calls: { target?: string; authorization?: string }[] = [];
      const dynamo = createServer((req, res) => {
        calls.push({
          target: req.headers['x-amz-target'] as string | undefined,
          authorization: req.headers.authorization,
        });
        req.resume();
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
      });
      await new Promise<void>((r) => dynamo.listen(0, '127.0.0.1', r));
      try {
        const authorizer = bundle('HttpApiAuthorizerFunction');
        const dir = join(scratch, 'isolated-authorizer');
        cpSync(authorizer.dir, dir, { recursive: true });
        const script = `const { handler } = await import('./index.mjs'); console.log(JSON.stringify(await handler({ headers: { 'x-api-key': 'unknown-key' } })));`;
        const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 20_000,
          env: {
            PATH: process.env.PATH,
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'AKIDFROMLAMBDAENV',
            AWS_SECRET_ACCESS_KEY: 'secret',
            AWS_SESSION_TOKEN: 'session-token',
            TENANTS_TABLE: 'tenants',
            DYNAMODB_ENDPOINT: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
          },
        });
        // Asked DynamoDB for the key, found none: no tenant, and no error.
        expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual({
          isAuthorized: true,
          context: { tenantId: '' },
        });
        expect(calls.length).toBeGreaterThan(0);
        for (const call of calls) {
          expect(call.target).toMatch(/^DynamoDB_20120810\./);
          expect(call.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFROMLAMBDAENV\//);
        }
      } finally {
        dynamo.close();
      }
    },
  );

  it.skipIf(!authorizerExists)(
    'reads S3 and presigns a link with the environment credentials (the media route, trimmed S3 schemas, on the S3 stand-in)',
    async () => {
      const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
      try {
        const endpoint = `http://127.0.0.1:${server.port}`;
        const bucket = 'bundle-media';
        const s3 = new S3Client({
          endpoint,
          forcePathStyle: true,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIDFROMLAMBDAENV', secretAccessKey: 'secret' },
        });
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        const file = Buffer.from('%PDF-1.4 a file the bundled route links to');
        const sha256 = createHash('sha256').update(file).digest('hex');
        const stored = randomUUID();
        await new S3MediaStore(s3, bucket).put('tenant-1', stored, Readable.from([file]), {
          mimeType: 'application/pdf',
          fileName: 'invoice.pdf',
          size: file.length,
          sha256,
        });
        const media = bundle('HttpApiGetMediaFunction');
        const dir = join(scratch, 'isolated-media');
        cpSync(media.dir, dir, { recursive: true });
        const event = (mediaId: string) => ({
          version: '2.0',
          routeKey: 'GET /whatsapp-qr/media/{mediaId}',
          rawPath: `/whatsapp-qr/media/${mediaId}`,
          rawQueryString: 'format=json',
          headers: {},
          queryStringParameters: { format: 'json' },
          pathParameters: { mediaId },
          requestContext: {
            authorizer: { lambda: { tenantId: 'tenant-1' } },
            http: { method: 'GET', path: `/whatsapp-qr/media/${mediaId}` },
          },
          isBase64Encoded: false,
        });
        const events = [event(stored), event(randomUUID())];
        const script = `const { handler } = await import('./index.mjs'); const out = []; for (const e of ${JSON.stringify(events)}) out.push(await handler(e, {})); console.log(JSON.stringify(out));`;
        const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 20_000,
          env: {
            PATH: process.env.PATH,
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'AKIDFROMLAMBDAENV',
            AWS_SECRET_ACCESS_KEY: 'secret',
            AUTH_STATE_BUCKET: bucket,
            S3_ENDPOINT: endpoint,
          },
        });
        const [found, missing] = JSON.parse(stdout.trim().split('\n').pop() as string) as {
          statusCode: number;
          body: string;
        }[];
        expect(found?.statusCode).toBe(200);
        const link = JSON.parse(found?.body as string) as Record<string, unknown>;
        // HEAD's output (type, length, user metadata) read through the trimmed schemas.
        expect(link).toMatchObject({
          mimeType: 'application/pdf',
          size: file.length,
          sha256,
          fileName: 'invoice.pdf',
        });
        expect(link.url).toMatch(/X-Amz-Credential=AKIDFROMLAMBDAENV%2F/);
        const fetched = await fetch(link.url as string);
        expect(Buffer.from(await fetched.arrayBuffer())).toEqual(file);
        // S3's 404 to a HEAD, mapped by the client to NotFound: the route's 404.
        expect(missing?.statusCode).toBe(404);
        expect(JSON.parse(missing?.body as string)).toMatchObject({ error: { code: 'MEDIA_NOT_FOUND' } });
      } finally {
        await server.stop();
      }
    },
  );

  it.skipIf(!authorizerExists)(
    'maps DynamoDB errors by name through the trimmed error registrations (a route run from its bundle on a DynamoDB double)',
    async () => {
      // What DynamoDB answers to each DeleteItem, in turn; GetItem finds the chatbot with a session.
      const deleteAnswers: { type: string; status: number }[] = [];
      const answered: string[] = [];
      const dynamo = createServer((req, res) => {
        const target = String(req.headers['x-amz-target'] ?? '');
        answered.push(target);
        req.resume();
        const json = { 'content-type': 'application/x-amz-json-1.0' };
        if (target.endsWith('.GetItem')) {
          const key = { pk: { S: 'CHATBOT#tenant-1#bot-1' } };
          res.writeHead(200, json).end(JSON.stringify({ Item: { ...key, sessionId: { S: 'session-1' } } }));
          return;
        }
        const answer = deleteAnswers[0] as { type: string; status: number };
        res.writeHead(answer.status, json).end(
          JSON.stringify({
            __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`,
            message: answer.type,
          }),
        );
      });
      await new Promise<void>((r) => dynamo.listen(0, '127.0.0.1', r));
      try {
        const route = bundle('HttpApiDeleteChatbotFunction');
        const dir = join(scratch, 'isolated-delete-chatbot');
        cpSync(route.dir, dir, { recursive: true });
        const event = {
          version: '2.0',
          routeKey: 'DELETE /whatsapp-qr/chatbots/{chatbotId}',
          rawPath: '/whatsapp-qr/chatbots/bot-1',
          rawQueryString: '',
          headers: {},
          pathParameters: { chatbotId: 'bot-1' },
          requestContext: {
            authorizer: { lambda: { tenantId: 'tenant-1' } },
            http: { method: 'DELETE', path: '/whatsapp-qr/chatbots/bot-1' },
          },
          isBase64Encoded: false,
        };
        const run = async (type: string, status: number) => {
          deleteAnswers.splice(0, 1, { type, status });
          answered.length = 0;
          const script = `const { handler } = await import('./index.mjs'); console.log(JSON.stringify(await handler(${JSON.stringify(event)}, {})));`;
          const { stdout, stderr } = await execFileAsync(
            process.execPath,
            ['--input-type=module', '-e', script],
            {
              cwd: dir,
              encoding: 'utf8',
              timeout: 30_000,
              env: {
                PATH: process.env.PATH,
                AWS_REGION: 'us-east-1',
                AWS_ACCESS_KEY_ID: 'AKIDFROMLAMBDAENV',
                AWS_SECRET_ACCESS_KEY: 'secret',
                SESSIONS_TABLE: 'sessions',
                DYNAMODB_ENDPOINT: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
              },
            },
          );
          const lines = stdout.trim().split('\n');
          const response = JSON.parse(lines.pop() as string) as { statusCode: number; body: string };
          return {
            status: response.statusCode,
            body: JSON.parse(response.body),
            log: [...lines, stderr].join('\n'),
          };
        };
        // Registered (the adapters read it): the condition failed, the chatbot has a session.
        const conflict = await run('ConditionalCheckFailedException', 400);
        expect(conflict.status).toBe(409);
        expect(conflict.body).toMatchObject({ error: { code: 'SESSION_EXISTS' } });
        expect(answered.filter((t) => t.endsWith('.DeleteItem'))).toHaveLength(1);
        // Not registered: the SDK still retries it as a throttle by its name, and our adapters
        // still map that name to 503.
        const throttled = await run('ProvisionedThroughputExceededException', 400);
        expect(throttled.status).toBe(503);
        expect(answered.filter((t) => t.endsWith('.DeleteItem')).length).toBeGreaterThan(1);
        // Not registered, not mapped: it arrives under its own name (in the log), a 500.
        const unmapped = await run('ResourceNotFoundException', 400);
        expect(unmapped.status).toBe(500);
        expect(unmapped.log).toContain('ResourceNotFoundException');
      } finally {
        dynamo.close();
      }
    },
    60_000,
  );
});

describe('runner image', () => {
  it('bundles Baileys, its WebAssembly bridge and the AWS SDK into one file that runs without node_modules', async () => {
    const outdir = join(scratch, 'probe');
    await bundleRunner(outdir, 'infra/fixtures/baileys-probe.ts');
    const isolated = join(scratch, 'isolated-probe');
    cpSync(outdir, isolated, { recursive: true });
    const out = execFileSync(process.execPath, ['--enable-source-maps', 'main.mjs'], {
      cwd: isolated,
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: process.env.PATH },
    });
    expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual({
      makeWASocket: 'function',
      browser: 'Mac OS',
      publicKeyBytes: 32,
      s3: 'function',
    });
  }, 60_000);

  it.skipIf(!existsSync(join(REPO_ROOT, RUNNER_ENTRY)))(
    'bundles session-runner/main.ts from files inside the image build context only',
    async () => {
      const { inputs } = await bundleRunner(join(scratch, 'runner'));
      const outside = inputs.filter(
        (input) =>
          !/^(shared|session-runner|node_modules)\//.test(relative(REPO_ROOT, join(REPO_ROOT, input))),
      );
      expect(outside).toEqual([]);
      // The patched Noise handshake (patches/), through which the runner authenticates the server.
      expect(readFileSync(join(scratch, 'runner', 'main.mjs'), 'utf8')).toMatch(/\.VERIFY_SERVER\?\.\(/);
    },
    60_000,
  );

  it('stages a build context of only what the Dockerfile copies', () => {
    const gateway = synthGateway({}, { nag: false, outdir: join(scratch, 'gateway') });
    const assembly = gateway.app.synth();
    const assets = JSON.parse(
      readFileSync(join(assembly.directory, `${gateway.stateless.artifactId}.assets.json`), 'utf8'),
    ) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string } }> };
    const [image] = Object.values(assets.dockerImages);
    const context = join(assembly.directory, image?.source.directory as string);
    const has = (path: string) => existsSync(join(context, path));

    for (const path of ['session-runner/Dockerfile', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      expect(has(path), path).toBe(true);
    }
    expect(has('shared/config.ts')).toBe(true);
    expect(has('infra/bundle-runner.ts')).toBe(true);
    for (const path of [
      'infra/app.ts',
      'functions',
      'local',
      'node_modules',
      'cdk.json',
      'cdk.out',
      '.git',
    ]) {
      expect(has(path), path).toBe(false);
    }
    // Every COPY source of the build stage is in the context.
    const dockerfile = readFileSync(join(context, 'session-runner/Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] as string).split(' '),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(has(source), source).toBe(true);
  });

  it('runs the bundle as a non-root user with source maps, on port 8080', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'session-runner/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM --platform=\$BUILDPLATFORM node:22-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^RUN npx tsx infra\/bundle-runner\.ts \/out$/m);
    // `npm ci --ignore-scripts` skips the postinstall: the Baileys patch is applied explicitly.
    expect(dockerfile).toMatch(/^RUN npm ci --ignore-scripts .*&& npx patch-package --error-on-fail$/m);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^FROM node:22-bookworm-slim$/m);
    expect(runtime).toMatch(/^ENV NODE_ENV=production$/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^EXPOSE 8080$/m);
    expect(runtime).toMatch(/^CMD \["node", "--enable-source-maps", "main\.mjs"\]$/m);
    expect(runtime).not.toMatch(/^RUN /m);
  });
});
