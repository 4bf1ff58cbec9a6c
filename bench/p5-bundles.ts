import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleLambdas, measureLambdaInit } from '../infra/bundle-lambdas.ts';

/** `HttpApiSendMessageFunction6EEB3228` → `HttpApiSendMessage` (the logical id without CDK's hash). */
const shortName = (id: string) => id.replace(/Function[0-9A-F]{8}$/, '');

/**
 * p5: every Lambda's bundle size and cold import time against an empty module, as
 * infra/bundle-lambdas.ts measures them (`runs` fresh processes each).
 */
export const p5Bundles = (runs: number) => {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  const bundles = bundleLambdas(outdir);
  const init = measureLambdaInit(bundles, runs);
  // The cloud assembly with 28 bundles and their maps: about 25 MB a run.
  rmSync(outdir, { recursive: true, force: true });
  return {
    functions: Object.fromEntries(
      Object.entries(init).map(([id, f]) => [shortName(id), { bytes: f.bytes, initRatio: f.initRatio }]),
    ),
  };
};
