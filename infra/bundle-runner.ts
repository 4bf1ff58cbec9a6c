/**
 * Bundles the session runner for its container image: one ESM file with its source map, the
 * same way the Lambdas are bundled (Baileys, its WebAssembly bridge and the AWS SDK inside), so
 * the image needs no node_modules. Run in the image's build stage:
 * `npx tsx infra/bundle-runner.ts <outdir> [entry]`. Self-contained on purpose: it is the only
 * infra file in the image's build context.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

/** Lets CommonJS dependencies `require` inside an ESM bundle (Lambdas and runner alike). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** The esbuild options the runner and every Lambda share: one minified ESM file for Node 22, its map beside it. */
export const NODE22_ESM_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  // The map in its own file, read only to map a stack trace (NODE_OPTIONS=--enable-source-maps).
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  logLevel: 'warning',
} satisfies BuildOptions;

/** Optional Baileys media dependencies: not installed, imported lazily for media only. */
export const RUNNER_BUNDLE_EXTERNALS = ['sharp', 'jimp', 'link-preview-js', 'audio-decode'];

export const bundleRunner = async (
  outdir: string,
  entry = 'session-runner/main.ts',
): Promise<{ outfile: string; warnings: number; inputs: string[] }> => {
  const root = resolve(import.meta.dirname, '..');
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'main.mjs');
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile,
    ...NODE22_ESM_BUNDLE,
    external: RUNNER_BUNDLE_EXTERNALS,
    metafile: true,
    absWorkingDir: root,
  });
  // Node reads the bundle as ESM whatever the folder's package.json says.
  writeFileSync(join(outdir, 'package.json'), '{ "type": "module" }\n');
  return { outfile, warnings: result.warnings.length, inputs: Object.keys(result.metafile.inputs) };
};

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outdir = resolve(process.argv[2] ?? 'dist/session-runner');
  const { outfile } = await bundleRunner(outdir, process.argv[3]);
  console.log(`bundled ${outfile}`);
}
