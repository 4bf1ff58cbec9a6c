import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZER_ENTRY } from '#functions/http/routes.ts';
import { AuthorizerEnv } from '#shared/config.ts';
import { bundleRunner, ESM_REQUIRE_BANNER } from './bundle-runner.ts';
import { AppFunction } from './constructs/app-function.ts';
import { REPO_ROOT } from './paths.ts';
import { cdkJsonContext, synthGateway } from './test-support.ts';

const scratch = mkdtempSync(join(tmpdir(), 'wa-infra-bundling-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const RUNNER_ENTRY = 'session-runner/main.ts';
const authorizerExists = existsSync(join(REPO_ROOT, AUTHORIZER_ENTRY));

describe('Lambda bundle (the one test that runs esbuild through CDK)', () => {
  let bundleDir = '';

  beforeAll(() => {
    if (!authorizerExists) return;
    // Bundling on: no 'aws:cdk:bundling-stacks' override.
    const app = new App({
      outdir: join(scratch, 'lambda'),
      context: cdkJsonContext(),
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'BundleCheck');
    const fn = new AppFunction(stack, 'Authorizer', {
      entry: AUTHORIZER_ENTRY,
      description: 'bundle check',
      serviceName: 'bundle-check',
      envSchema: AuthorizerEnv,
      logRetention: RetentionDays.ONE_DAY,
      logRemovalPolicy: RemovalPolicy.DESTROY,
    });
    fn.addEnvironment('TENANTS_TABLE', 'tenants');
    const assembly = app.synth();
    const assets = JSON.parse(
      readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'),
    ) as {
      files: Record<string, { source: { path: string } }>;
    };
    const dirs = Object.values(assets.files)
      .map((f) => join(assembly.directory, f.source.path))
      .filter((path) => existsSync(join(path, 'index.mjs')));
    expect(dirs).toHaveLength(1);
    bundleDir = dirs[0] as string;
  }, 60_000);

  it.skipIf(!authorizerExists)(
    'is one minified ESM file with its source map and the createRequire banner',
    () => {
      expect(readdirSync(bundleDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(join(bundleDir, 'index.mjs'), 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*handler/);
    },
  );

  it.skipIf(!authorizerExists)('carries the AWS SDK inside and loads under plain node', () => {
    const code = readFileSync(join(bundleDir, 'index.mjs'), 'utf8');
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    // The DynamoDB client itself is in the file, not left for the runtime's copy of the SDK.
    expect(code).toContain('DynamoDBClient');
    // Copied out of the repository so nothing can come from node_modules.
    const isolated = join(scratch, 'isolated-lambda');
    cpSync(bundleDir, isolated, { recursive: true });
    const out = execFileSync(
      process.execPath,
      [
        '--enable-source-maps',
        '--input-type=module',
        '-e',
        "import('./index.mjs').then((m) => console.log(typeof m.handler))",
      ],
      {
        cwd: isolated,
        encoding: 'utf8',
        timeout: 20_000,
        env: { PATH: process.env.PATH, TENANTS_TABLE: 'tenants', AWS_REGION: 'us-east-1' },
      },
    );
    expect(out.trim()).toBe('function');
  });
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
