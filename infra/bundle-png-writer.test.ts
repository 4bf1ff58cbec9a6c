import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { qrToPng } from '#shared/domain/qr-image.ts';
import { LAMBDA_ALIASES } from './bundle-lambda.ts';
import { encodeRgbaPng, PNG } from './bundle-png-writer.ts';
import { REPO_ROOT } from './paths.ts';

// pngjs ships no types: the one call the test makes, typed here.
const { PNG: PngJs } = createRequire(import.meta.url)('pngjs') as {
  PNG: { sync: { read(file: Buffer): { width: number; height: number; data: Uint8Array } } };
};

const scratch = mkdtempSync(join(tmpdir(), 'png-writer-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A small deterministic generator, so that a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

/** What pngjs reads from a PNG file. */
const decode = (file: Buffer) => {
  const image = PngJs.sync.read(file);
  return { width: image.width, height: image.height, data: Buffer.from(image.data) };
};

/** The file `pack()` emits. */
const packed = (png: PNG): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    png.on('data', (part: Buffer) => parts.push(part));
    png.on('end', () => resolve(Buffer.concat(parts)));
    png.on('error', reject);
    png.pack();
  });

describe('the QR route’s PNG writer (stand-in for pngjs)', () => {
  it('writes images pngjs reads back to the same RGBA pixels', () => {
    const next = random(3);
    for (let i = 0; i < 40; i++) {
      const width = 1 + Math.floor(next() * 40);
      const height = 1 + Math.floor(next() * 40);
      const data = Buffer.from(Array.from({ length: width * height * 4 }, () => Math.floor(next() * 256)));
      expect(decode(encodeRgbaPng(data, width, height))).toEqual({ width, height, data });
    }
  });

  it('emits the file through pack(), data then end, as qrcode collects it', async () => {
    const png = new PNG({ width: 3, height: 2 });
    png.data?.fill(200);
    expect(decode(await packed(png))).toEqual({ width: 3, height: 2, data: Buffer.alloc(24, 200) });
  });

  it('refuses to pack an image without pixels, as the package does', () => {
    const errors: unknown[] = [];
    new PNG({ width: 0, height: 0 }).on('error', (error) => errors.push(error)).pack();
    expect(errors).toEqual(['No data provided']);
  });

  it('gives the QR route’s bundled renderer the same QR image as pngjs, no larger', async () => {
    // shared/domain/qr-image.ts bundled with the Lambdas' aliases, next to the module with pngjs.
    const outfile = join(scratch, 'qr-image.mjs');
    await build({
      entryPoints: [join(REPO_ROOT, 'shared/domain/qr-image.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      banner: {
        js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
      alias: LAMBDA_ALIASES,
      logLevel: 'error',
    });
    const bundled = (await import(pathToFileURL(outfile).href)) as { qrToPng: typeof qrToPng };
    for (const qr of ['2@short', `2@${'x'.repeat(200)},AbCdEf==,GhIjKl==,MnOpQr==`]) {
      const theirs = await qrToPng(qr);
      const ours = await bundled.qrToPng(qr);
      expect(decode(ours)).toEqual(decode(theirs));
      expect(decode(ours).width).toBe(300);
      expect(ours.length).toBeLessThanOrEqual(theirs.length);
    }
  });
});
