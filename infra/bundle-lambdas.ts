/**
 * Every Lambda of the app as `cdk synth` bundles it, and what each costs at a cold start: its
 * code's size and the time a fresh Node process takes to import it, against a fresh process that
 * imports an empty module (the `p5` figures of `npm run bench`; infra/bundling.test.ts checks the
 * sizes). Run alone: `npx tsx infra/bundle-lambdas.ts` prints the table.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { synthGateway } from './test-support.ts';

export interface LambdaBundle {
  /** The function's logical id in the stateless stack. */
  id: string;
  /** The folder CDK staged (index.mjs and its source map). */
  dir: string;
  /** Size of index.mjs. */
  bytes: number;
  /** Its environment variable names, as the template sets them. */
  envKeys: string[];
}

type Template = {
  Resources: Record<
    string,
    { Type: string; Properties: { Code?: { S3Key?: unknown }; Environment?: { Variables?: object } } }
  >;
};

/** Synthesizes the default stage with bundling on (as `cdk synth`) and lists its Lambda bundles. */
export const bundleLambdas = (outdir: string): LambdaBundle[] => {
  const gateway = synthGateway({}, { nag: false, bundle: true, outdir, deferTemplates: true });
  const assembly = gateway.app.synth();
  const template = JSON.parse(
    readFileSync(join(assembly.directory, `${gateway.stateless.artifactId}.template.json`), 'utf8'),
  ) as Template;
  const bundles: LambdaBundle[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const key = resource.Properties.Code?.S3Key;
    if (resource.Type !== 'AWS::Lambda::Function' || typeof key !== 'string') continue;
    const dir = join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
    // CDK's own custom resource handlers are not ours.
    if (!existsSync(join(dir, 'index.mjs'))) continue;
    const envKeys = Object.keys(resource.Properties.Environment?.Variables ?? {});
    bundles.push({ id, dir, bytes: statSync(join(dir, 'index.mjs')).size, envKeys });
  }
  return bundles;
};

export interface LambdaInit {
  bytes: number;
  /** Median wall time of a fresh `node` process that imports the bundle and exits. */
  processMs: number;
  /** Median time of the import itself inside that process. */
  importMs: number;
  /** processMs over the same figure for an empty module, measured in the same run. */
  initRatio: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/** One fresh process importing `file` (relative to `cwd`): its wall time and the import's own time. */
const timeImport = (cwd: string, file: string): { processMs: number; importMs: number } => {
  const script = `const t = performance.now(); await import('./${file}'); console.log(performance.now() - t);`;
  const started = performance.now();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' },
  });
  return { processMs: performance.now() - started, importMs: Number(out.trim().split('\n').pop()) };
};

/**
 * Size and cold import time of every bundle, each copied out of the repository (nothing can come
 * from node_modules) and imported `runs` times, alternating with the empty module so that the
 * machine's load weighs on both alike.
 */
export const measureLambdaInit = (bundles: LambdaBundle[], runs = 5): Record<string, LambdaInit> => {
  const root = mkdtempSync(join(tmpdir(), 'lambda-init-'));
  writeFileSync(join(root, 'empty.mjs'), 'export {};\n');
  const empty: number[] = [];
  const result: Record<string, LambdaInit> = {};
  const samples = new Map<string, { processMs: number[]; importMs: number[] }>();
  for (const b of bundles) {
    mkdirSync(join(root, b.id));
    cpSync(b.dir, join(root, b.id), { recursive: true });
    samples.set(b.id, { processMs: [], importMs: [] });
  }
  for (let run = 0; run < runs; run++) {
    for (const b of bundles) {
      empty.push(timeImport(root, 'empty.mjs').processMs);
      const t = timeImport(root, `${b.id}/index.mjs`);
      samples.get(b.id)?.processMs.push(t.processMs);
      samples.get(b.id)?.importMs.push(t.importMs);
    }
  }
  rmSync(root, { recursive: true, force: true });
  const baseline = median(empty);
  for (const b of bundles) {
    const s = samples.get(b.id) as { processMs: number[]; importMs: number[] };
    const processMs = median(s.processMs);
    result[b.id] = {
      bytes: b.bytes,
      processMs: Math.round(processMs),
      importMs: Math.round(median(s.importMs)),
      initRatio: Math.round((processMs / baseline) * 100) / 100,
    };
  }
  return result;
};

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outdir = mkdtempSync(join(tmpdir(), 'lambda-bundles-'));
  const bundles = bundleLambdas(outdir);
  const init = measureLambdaInit(bundles, Number(process.argv[2] ?? 3));
  rmSync(outdir, { recursive: true, force: true });
  for (const [id, f] of Object.entries(init)) {
    console.log(
      `${String(Math.round(f.bytes / 1024)).padStart(5)} KB  import ${String(f.importMs).padStart(4)} ms  process ×${f.initRatio}  ${id}`,
    );
  }
}
