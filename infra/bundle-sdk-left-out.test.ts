import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { LAMBDA_ALIASES } from './bundle-lambda.ts';
import { ADAPTIVE_RETRY_LEFT_OUT } from './bundle-sdk-left-out.ts';
import { sdkTrimPlugin } from './bundle-sdk-trim.ts';
import { REPO_ROOT } from './paths.ts';

const execFileAsync = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'sdk-left-out-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A probe bundled as the Lambdas are (with or without the plugin), run in a fresh `node` with only
 * `env`: it prints what the standard and adaptive retry strategies and the region chain's last
 * step do.
 */
const probe = async (trim: boolean, env: Record<string, string>) => {
  const entry = join(scratch, 'probe-entry.mjs');
  const outfile = join(scratch, `probe-${trim ? 'trimmed' : 'full'}.mjs`);
  writeFileSync(
    entry,
    `import { AdaptiveRetryStrategy, StandardRetryStrategy } from '@smithy/core/retry';
import { NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
const attempt = async (f) => { try { return { value: await f() }; } catch (e) { return { error: e.message }; } };
console.log(JSON.stringify({
  standard: await attempt(() => new StandardRetryStrategy(3).mode),
  adaptive: await attempt(() => new AdaptiveRetryStrategy(3).mode),
  region: await attempt(() => NODE_REGION_CONFIG_OPTIONS.default()),
}));\n`,
  );
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    alias: LAMBDA_ALIASES,
    plugins: trim ? [sdkTrimPlugin] : [],
    nodePaths: [join(REPO_ROOT, 'node_modules')],
    logLevel: 'error',
  });
  const { stdout } = await execFileAsync(process.execPath, [outfile], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH, ...env },
  });
  return JSON.parse(stdout.trim()) as Record<string, { value?: string; error?: string }>;
};

describe('the SDK modules the Lambda bundles leave out', () => {
  it('keeps the standard retry strategy, refuses the adaptive one with the reason, and asks no metadata service for a region', async () => {
    // A metadata service on loopback: the full SDK asks it for a region, the bundles do not.
    const requests: string[] = [];
    const imds = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(200).end(req.method === 'PUT' ? 'token' : 'eu-west-3');
    });
    await new Promise<void>((r) => imds.listen(0, '127.0.0.1', r));
    try {
      const env = {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${(imds.address() as AddressInfo).port}`,
      };
      const full = await probe(false, env);
      expect(full).toEqual({
        standard: { value: 'standard' },
        adaptive: { value: 'adaptive' },
        region: { value: 'eu-west-3' },
      });
      expect(requests.length).toBeGreaterThan(0);

      requests.length = 0;
      const trimmed = await probe(true, env);
      expect(trimmed.standard).toEqual({ value: 'standard' });
      expect(trimmed.adaptive).toEqual({ error: ADAPTIVE_RETRY_LEFT_OUT });
      // The chain's own answer when nothing gives a region (in Lambda, AWS_REGION always does).
      expect(trimmed.region).toEqual({ error: 'Region is missing' });
      expect(requests).toEqual([]);
    } finally {
      imds.close();
    }
  }, 60_000);
});
