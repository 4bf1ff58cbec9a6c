/**
 * Stands in for `pngjs` in the Lambda bundles (an esbuild alias in infra/bundle-lambda.ts). Its one
 * user there is `qrcode`'s PNG renderer (the QR route's `image/png`), which builds `new PNG({ width,
 * height })`, fills `data` with RGBA pixels, calls `pack()` and collects the `data` events until
 * `end`. pngjs carries a full PNG parser and packer (about 30 KB) for that; an 8-bit RGBA image is
 * a few chunks around Node's zlib. The image decodes to the same pixels as the
 * package's (infra/bundle-png-writer.test.ts reads both with pngjs).
 */
import { EventEmitter } from 'node:events';
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data, CRC of type and data. */
const chunk = (type: string, data: Buffer): Buffer => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
};

/** Filter types tried per row: None, Sub (the pixel to the left), Up (the pixel above). */
const FILTERS = [0, 1, 2] as const;

/** One row filtered with `type` into `out` (its filter byte first). */
const filterRow = (type: 0 | 1 | 2, row: Buffer, above: Buffer | undefined, out: Buffer): void => {
  out[0] = type;
  for (let i = 0; i < row.length; i++) {
    const raw = row[i] as number;
    const prediction =
      type === 1 ? (i >= 4 ? (row[i - 4] as number) : 0) : type === 2 ? (above?.[i] ?? 0) : 0;
    out[i + 1] = (raw - prediction) & 0xff;
  }
};

/** The smaller the sum of the bytes read as signed, the better a filtered row deflates (pngjs's heuristic). */
const cost = (filtered: Buffer): number => {
  let sum = 0;
  for (let i = 1; i < filtered.length; i++) {
    const v = filtered[i] as number;
    sum += v < 128 ? v : 256 - v;
  }
  return sum;
};

/**
 * The PNG file of `width` × `height` 8-bit RGBA pixels: each row with the filter that suits it
 * best (a QR's repeated rows become zeros with Up), then deflated.
 */
export const encodeRgbaPng = (data: Buffer, width: number, height: number): Buffer => {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(6, 9); // colour type: RGBA
  // Compression, filter method and interlace: 0 (the only standard ones, no interlace).
  const stride = width * 4;
  const rows = Buffer.alloc((stride + 1) * height);
  const candidate = Buffer.alloc(stride + 1);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? data.subarray((y - 1) * stride, y * stride) : undefined;
    const target = rows.subarray(y * (stride + 1), (y + 1) * (stride + 1));
    let best = Number.POSITIVE_INFINITY;
    for (const type of FILTERS) {
      filterRow(type, row, above, candidate);
      const c = cost(candidate);
      if (c < best) {
        best = c;
        candidate.copy(target);
      }
    }
  }
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
};

/** As pngjs's `PNG` for writing: `data` holds the RGBA pixels; `pack()` emits the file, then `end`. */
export class PNG extends EventEmitter {
  readonly width: number;
  readonly height: number;
  data: Buffer | null;

  constructor(options: { width?: number; height?: number } = {}) {
    super();
    this.width = (options.width ?? 0) | 0;
    this.height = (options.height ?? 0) | 0;
    this.data = this.width > 0 && this.height > 0 ? Buffer.alloc(4 * this.width * this.height) : null;
  }

  pack(): this {
    const data = this.data;
    if (!data?.length) {
      this.emit('error', 'No data provided');
      return this;
    }
    // Asynchronous like the package: the caller listens after calling pack().
    process.nextTick(() => {
      this.emit('data', encodeRgbaPng(data, this.width, this.height));
      this.emit('end');
    });
    return this;
  }
}
