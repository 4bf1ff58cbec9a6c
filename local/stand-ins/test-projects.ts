import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Splits the test files into the two vitest projects: `integration` for a file that needs the
 * run's stand-ins (its own code or anything it imports injects the DynamoDB Local or fauxqs
 * endpoint that the global setup provides) or that starts heavy work itself (processes, a browser, the local
 * stack, esbuild over the app, CloudFormation validation, the WhatsApp simulator with real Baileys);
 * `unit` for the rest, which run without the DynamoDB Local JVM and fauxqs. Worked out from the
 * sources at each run, so a new test lands in the right project without a list to maintain.
 */

const TEST_ROOTS = ['shared', 'functions', 'session-runner', 'local', 'infra', 'faults', 'bench'];
const ALIASES: Record<string, string> = {
  '#shared/': 'shared/',
  '#functions/': 'functions/',
  '#local/': 'local/',
  '#runner/': 'session-runner/',
};
const NEEDS_STAND_INS = /inject\(\s*['"](dynamoEndpoint|fauxqsEndpoint)['"]/;
/**
 * Heavy work the test file itself starts: child processes (spawn, execFile, fork), stand-ins, a browser, esbuild over the
 * whole app, CDK's CloudFormation validation (WebAssembly, seconds per synth), the local stack
 * through the end-to-end helpers (`local/testing/e2e-stack.ts`, `shared-e2e-stack.ts`), or the
 * WhatsApp simulator that real Baileys sockets link to over loopback WebSockets (Noise handshakes,
 * pairing: seconds per file, and most of the unit project's time when they ran there).
 */
const STARTS_HEAVY_WORK =
  /\bspawn\(|\bexecFile\(|\bfork\(|startDynamoDbLocal\(|startFauxqs\(|chromium\.launch\(|bundleRunner\(|bundleLambdas\(|lambdaBuildOptions\(|bundle: true|cfnValidation:|startE2eStack\(|sharedE2eStack\(|startTrustedSimulator\(/;
const IMPORT = /(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name.startsWith('.')) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith('.ts') ? [path] : [];
  });

/** Test files (relative to `root`) of the integration project; every other test file is a unit test. */
export const integrationTestFiles = (root: string): string[] => {
  const sources = new Map<string, string>();
  const source = (file: string): string => {
    let text = sources.get(file);
    if (text === undefined) {
      text = readFileSync(file, 'utf8');
      sources.set(file, text);
    }
    return text;
  };
  const importsOf = (file: string): string[] =>
    [...source(file).matchAll(IMPORT)].flatMap((m) => {
      const spec = (m[1] ?? m[2]) as string;
      const alias = Object.keys(ALIASES).find((a) => spec.startsWith(a));
      const path = spec.startsWith('.')
        ? resolve(dirname(file), spec)
        : alias
          ? join(root, (ALIASES[alias] as string) + spec.slice(alias.length))
          : undefined;
      return path && existsSync(path) && statSync(path).isFile() ? [path] : [];
    });
  const needsStandIns = (test: string): boolean => {
    const seen = new Set([test]);
    const todo = [test];
    for (let file = todo.pop(); file; file = todo.pop()) {
      if (NEEDS_STAND_INS.test(source(file))) return true;
      for (const next of importsOf(file)) {
        if (!seen.has(next)) {
          seen.add(next);
          todo.push(next);
        }
      }
    }
    return false;
  };
  return TEST_ROOTS.filter((dir) => existsSync(join(root, dir)))
    .flatMap((dir) => walk(join(root, dir)))
    .filter((file) => file.endsWith('.test.ts'))
    .filter((file) => STARTS_HEAVY_WORK.test(source(file)) || needsStandIns(file))
    .map((file) => relative(root, file))
    .sort();
};

/**
 * How many integration files run at once. They mostly wait (sockets, leases, polls, child
 * processes): on an idle 2-core machine two at a time used one core on average (`npm test`: 305
 * CPU-s in 301 s), and three at a time ran the integration project in 216 s instead of 257 s with
 * no retry (1.3 cores). On a machine that other work keeps busy (a load average of twice its cores
 * or more) the cores are not idle, and a third file only adds waits to the timing of the others (one
 * fault row timed out at a load of 17-20): two there. The bar is not the cores themselves: a run
 * just before (a suite run, a typecheck) leaves the load at 2-5 on 2 cores for a minute.
 * `INTEGRATION_MAX_WORKERS` decides when set.
 */
export const integrationLanes = (
  cores: number,
  loadAverage: number,
  configured = Number(process.env.INTEGRATION_MAX_WORKERS),
): number => {
  if (configured > 0) return configured;
  return loadAverage < 2 * cores ? Math.max(3, cores) : Math.max(2, cores - 1);
};
