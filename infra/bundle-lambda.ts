/**
 * Builds one Lambda bundle: `index.mjs` (minified ESM, tree-shaken, the AWS clients inside) and
 * its source map beside it. infra/constructs/app-function.ts runs it in a child process for each
 * function at synth (CDK's own NodejsFunction bundling runs the esbuild CLI, which takes no
 * plugins): `node --import tsx infra/bundle-lambda.ts '<spec json>' <outdir>`.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { NODE22_ESM_BUNDLE } from './bundle-runner.ts';
import { sdkTrimPlugin } from './bundle-sdk-trim.ts';

const INFRA = fileURLToPath(new URL('.', import.meta.url));

/** This file, which the synth runs for every function. */
export const LAMBDA_BUNDLER = fileURLToPath(import.meta.url);

/**
 * Packages the Lambda bundles take from small modules of infra/ (each file says why, and a test
 * compares it with the package): what a Lambda never needs (the SSO and ini credential chain,
 * event streams and their payload signing, SSO tokens) or Node does natively (an LRU on a Map, HMAC and base64, a PNG).
 */
export const LAMBDA_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': join(INFRA, 'bundle-lambda-credentials.ts'),
  '@smithy/core/event-streams': join(INFRA, 'bundle-without-event-streams.ts'),
  '@aws-sdk/eventstream-handler-node': join(INFRA, 'bundle-without-event-stream-handler.ts'),
  'mnemonist/lru-cache': join(INFRA, 'bundle-lru-cache.ts'),
  'fast-sha256': join(INFRA, 'bundle-webhook-crypto.ts'),
  '@stablelib/base64': join(INFRA, 'bundle-webhook-crypto.ts'),
  '@aws-sdk/token-providers': join(INFRA, 'bundle-lambda-token.ts'),
  pngjs: join(INFRA, 'bundle-png-writer.ts'),
};

export interface LambdaBundleSpec {
  /** Absolute path of the handler module (it exports `handler`). */
  entry: string;
  /** Build-time constants (infra/constructs/app-function.ts `bundleDefines`). */
  define: Record<string, string>;
  /** Where to write esbuild's metafile (what the bundle holds, for `analyzeMetafile`). */
  metafile?: string;
}

/** The esbuild options of every Lambda bundle. */
export const lambdaBuildOptions = (spec: LambdaBundleSpec, outdir: string): BuildOptions => ({
  entryPoints: [spec.entry],
  outfile: join(outdir, 'index.mjs'),
  ...NODE22_ESM_BUNDLE,
  define: spec.define,
  alias: LAMBDA_ALIASES,
  plugins: [sdkTrimPlugin],
  metafile: spec.metafile !== undefined,
  absWorkingDir: resolve(INFRA, '..'),
});

/** Writes `index.mjs` and `index.mjs.map` of one function into `outdir`. */
export const bundleLambda = async (spec: LambdaBundleSpec, outdir: string): Promise<void> => {
  const result = await build(lambdaBuildOptions(spec, outdir));
  if (spec.metafile && result.metafile) writeFileSync(spec.metafile, JSON.stringify(result.metafile));
};

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [spec, outdir] = process.argv.slice(2);
  if (!spec || !outdir) throw new Error('usage: infra/bundle-lambda.ts <spec json> <outdir>');
  await bundleLambda(JSON.parse(spec) as LambdaBundleSpec, outdir);
}
