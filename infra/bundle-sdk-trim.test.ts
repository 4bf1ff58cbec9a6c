import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { LAMBDA_ALIASES } from './bundle-lambda.ts';
import {
  clientPackageInfo,
  inlineSchemaKeys,
  PURE_JS_HASH_LEFT_OUT,
  sdkTrimPlugin,
} from './bundle-sdk-trim.ts';
import { REPO_ROOT } from './paths.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sdk-trim-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The clients the Lambdas build. */
const CLIENTS = ['s3', 'sqs', 'dynamodb', 'bedrock-runtime', 'secrets-manager'];
const clientDir = (client: string) => join(REPO_ROOT, 'node_modules/@aws-sdk', `client-${client}`);

/** Bundles `source` (an ESM entry) as the Lambdas are bundled, with or without the plugin. */
const bundle = async (name: string, source: string, trim: boolean): Promise<string> => {
  const entry = join(scratch, `${name}-entry.mjs`);
  const outfile = join(scratch, `${name}-${trim ? 'trimmed' : 'full'}.mjs`);
  writeFileSync(entry, source);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    alias: LAMBDA_ALIASES,
    plugins: trim ? [sdkTrimPlugin] : [],
    nodePaths: [join(REPO_ROOT, 'node_modules')],
    logLevel: 'error',
  });
  return outfile;
};

/**
 * A module's exports as plain data: a schema's lazy member (`() => Other$`) becomes the name of
 * the export it returns, and error classes their name, so two loads of the same schemas compare.
 */
const schemaData = (exports: Record<string, unknown>): unknown => {
  const names = new Map<unknown, string>(Object.entries(exports).map(([name, value]) => [value, name]));
  const visiting = new Set<unknown>();
  const plain = (value: unknown): unknown => {
    // A recursive shape not exported under a name (DynamoDB's AttributeValue) ends here.
    if (visiting.has(value)) return '<cycle>';
    visiting.add(value);
    try {
      return plainOnce(value);
    } finally {
      visiting.delete(value);
    }
  };
  const plainOnce = (value: unknown): unknown => {
    if (typeof value === 'function') {
      if (/^class\b/.test(Function.prototype.toString.call(value))) return `class ${value.name}`;
      const target = (value as () => unknown)();
      return `=> ${names.get(target) ?? JSON.stringify(plain(target))}`;
    }
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === 'object') {
      if (names.has(value) && value !== exports) return `ref ${names.get(value)}`;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    }
    return value;
  };
  return Object.fromEntries(
    Object.entries(exports).map(([name, value]) => {
      // Top-level values are compared whole; references to them by name (above).
      names.delete(value);
      const data = plain(value);
      names.set(value, name);
      return [name, data];
    }),
  );
};

describe('the SDK trimming plugin of the Lambda bundles', () => {
  it.each(CLIENTS)(
    'rewrites every computed key of the %s schemas, and the schemas export the same values',
    async (client) => {
      const dir = join(clientDir(client), 'dist-es/schemas');
      for (const file of readdirSync(dir).filter((f) => /^schemas_\d+\.js$/.test(f))) {
        const path = join(dir, file);
        const rewritten = inlineSchemaKeys(readFileSync(path, 'utf8'));
        // No computed key left: each one kept every schema of the service in every bundle.
        expect(rewritten, file).not.toMatch(/\[_\w+\]:/);
        const source = `export * from ${JSON.stringify(path)};\n`;
        const full = await import(pathToFileURL(await bundle(`${client}-${file}`, source, false)).href);
        const trimmed = await import(pathToFileURL(await bundle(`${client}-${file}`, source, true)).href);
        expect(Object.keys(trimmed).length, file).toBeGreaterThan(20);
        expect(schemaData(trimmed), file).toEqual(schemaData(full));
      }
    },
    60_000,
  );

  it('leaves the S3 operations a function never sends out of its bundle', async () => {
    const source = `import { S3Client, HeadObjectCommand } from '@aws-sdk/client-s3';
export const head = (Bucket, Key) => new S3Client({}).send(new HeadObjectCommand({ Bucket, Key }));\n`;
    const full = readFileSync(await bundle('s3-head', source, false), 'utf8');
    const trimmed = readFileSync(await bundle('s3-head', source, true), 'utf8');
    expect(full).toContain('"ListObjectsV2"');
    expect(trimmed).not.toContain('"ListObjectsV2"');
    expect(trimmed).not.toContain('"PutBucketLifecycleConfiguration"');
    // What HEAD needs stays: its schema and the errors the client maps.
    expect(trimmed).toContain('"HeadObjectOutput"');
    expect(trimmed).toContain('"NoSuchKey"');
    expect(full.length - trimmed.length).toBeGreaterThan(40 * 1024);
  }, 60_000);

  it('hashes with node:crypto through the SDK’s Node classes, and refuses the left-out pure-JS ones', async () => {
    const source = `export { Md5Js, Md5Node, Sha256Js, Sha256Node } from '@smithy/core/checksum';
export { Sha1Js, Sha1Node } from '@aws-sdk/checksums/sha';\n`;
    type Hash = { update(data: Uint8Array): void; digest(): Promise<Uint8Array> };
    const hashes = (await import(pathToFileURL(await bundle('hashes', source, true)).href)) as Record<
      string,
      new () => Hash
    >;
    const data = new TextEncoder().encode('the message a client signs or checks');
    for (const [name, algorithm] of [
      ['Sha256Node', 'sha256'],
      ['Sha1Node', 'sha1'],
      ['Md5Node', 'md5'],
    ] as const) {
      const hash = new (hashes[name] as new () => Hash)();
      hash.update(data);
      expect(Buffer.from(await hash.digest()).toString('hex'), name).toBe(
        createHash(algorithm).update(data).digest('hex'),
      );
    }
    for (const name of ['Sha256Js', 'Sha1Js', 'Md5Js']) {
      expect(() => new (hashes[name] as new () => Hash)(), name).toThrow(PURE_JS_HASH_LEFT_OUT);
    }
    // Without the plugin the pure-JS classes are the real ones.
    const full = (await import(pathToFileURL(await bundle('hashes', source, false)).href)) as Record<
      string,
      new () => Hash
    >;
    expect(() => new (full.Sha256Js as new () => Hash)()).not.toThrow();
  }, 60_000);

  it('gives a client the name and version of its package.json, which its user agent reads', () => {
    for (const client of CLIENTS) {
      const json = readFileSync(join(clientDir(client), 'package.json'), 'utf8');
      const { name, version } = JSON.parse(json) as { name: string; version: string };
      expect(JSON.parse(clientPackageInfo(json))).toEqual({ name, version });
    }
  });

  it('leaves a computed key alone when its constant is not a string of the same module', () => {
    const source = 'const _a = "http";\nexport var X$ = [9, n0, "X", { [_a]: 1, [_b]: 2 }];\n';
    expect(inlineSchemaKeys(source)).toBe(
      'const _a = "http";\nexport var X$ = [9, n0, "X", { "http": 1, [_b]: 2 }];\n',
    );
  });
});
