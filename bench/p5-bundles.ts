import { mkdtempSync } from 'node:fs';
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
  const bundles = bundleLambdas(mkdtempSync(join(tmpdir(), 'bench-bundles-')));
  const init = measureLambdaInit(bundles, runs);
  return {
    functions: Object.fromEntries(
      Object.entries(init).map(([id, f]) => [shortName(id), { bytes: f.bytes, initRatio: f.initRatio }]),
    ),
  };
};
