/**
 * The bench's pure parts: targets, pricing, pass/fail and the table. Every figure is a key of
 * issue 14's table (`p1.mbPerSession`, `p4.perOutbound.sqs`, …) with its value, its target (if the
 * issue sets one) and whether it meets it.
 */

/** A limit a figure must stay at or under. */
export interface Target {
  max: number;
  /** How the table shows it, e.g. `≤ 300 KB`. */
  label: string;
}

export interface Figure {
  key: string;
  /** undefined when the row could not measure it (the row's error says why). */
  value: number | boolean | undefined;
  target?: Target;
  /** undefined when there is no target; false when the value is missing. */
  pass?: boolean;
}

/** Public us-east-1 on-demand prices, USD per request (no free tier). */
export const PRICES_USD = {
  // aws.amazon.com/sqs/pricing: FIFO queues $0.50 per million requests (standard $0.40; every queue of
  // the product on the send path is FIFO, so FIFO is priced for all). As published since 2023, read 2024-11.
  sqsRequest: 0.5 / 1e6,
  // aws.amazon.com/dynamodb/pricing/on-demand: $0.625 per million write request units, $0.125 per
  // million read request units (the prices after the cut of 2024-11-01); one unit per item up to 1 KB
  // written / 4 KB read, a transactional item costs two.
  dynamodbWriteUnit: 0.625 / 1e6,
  dynamodbReadUnit: 0.125 / 1e6,
  // aws.amazon.com/s3/pricing, S3 Standard: PUT/COPY/POST/LIST $0.005 per 1,000, GET $0.0004 per 1,000.
  s3Put: 0.005 / 1e3,
  s3Get: 0.0004 / 1e3,
} as const;

/** AWS requests per message, as counted at the stand-ins. */
export interface RequestCounts {
  sqs: number;
  dynamodbReads: number;
  dynamodbWrites: number;
  s3Puts: number;
  s3Gets: number;
  /** Request units (a transactional item counts twice), for the price; default: one per request. */
  dynamodbReadUnits?: number;
  dynamodbWriteUnits?: number;
}

/** What one message costs in AWS requests, times a million, in USD. */
export const usdPerMillion = (c: RequestCounts): number =>
  1e6 *
  (c.sqs * PRICES_USD.sqsRequest +
    (c.dynamodbReadUnits ?? c.dynamodbReads) * PRICES_USD.dynamodbReadUnit +
    (c.dynamodbWriteUnits ?? c.dynamodbWrites) * PRICES_USD.dynamodbWriteUnit +
    c.s3Puts * PRICES_USD.s3Put +
    c.s3Gets * PRICES_USD.s3Get);

/**
 * A DynamoDB item's size as DynamoDB bills it (docs: "Item sizes and formats"): attribute names
 * and values in UTF-8 bytes, a number about one byte per two significant digits plus one, a
 * boolean or null one byte, a list or map 3 bytes plus one per element (plus its names). A write
 * costs one unit per KB started of the larger of the item before and after (twice in a transaction).
 */
export const dynamoItemBytes = (item: Record<string, unknown>): number =>
  Object.entries(item).reduce((n, [name, value]) => n + Buffer.byteLength(name) + valueBytes(value), 0);

const valueBytes = (value: unknown): number => {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number')
    return Math.ceil(String(Math.abs(value)).replace(/[.e+-]|^0+/g, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value) || value instanceof Set)
    return 3 + [...value].reduce((n, v) => n + 1 + valueBytes(v), 0);
  return (
    3 + Object.entries(value as object).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + valueBytes(v), 0)
  );
};

/** Write units of one write of an item this size (a transactional write costs twice this). */
export const writeUnitsOf = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

const at = (max: number, unit = ''): Target => ({ max, label: `≤ ${max}${unit}` });

/** The targets of issue 14; the crash restore target depends on the lease the run uses. */
export const targetFor = (key: string, leaseSeconds: number): Target | undefined => {
  if (/^p5\.functions\..+\.bytes$/.test(key)) return { max: 300 * 1024, label: '≤ 300 KB' };
  const fixed: Record<string, Target> = {
    'p1.mbPerSession': at(8, ' MB'),
    'p1.ratio': at(1.3),
    'p2.ratio': at(1.5),
    'p3.restoreSeconds': at(15, ' s'),
    'p3.crashRestoreSeconds': { max: leaseSeconds + 15, label: `≤ lease + 15 = ${leaseSeconds + 15} s` },
    'p3.newQr': at(0),
    'p4.perOutbound.sqs': at(3),
    'p4.perOutbound.dynamodbWrites': at(4),
    'p4.perOutbound.s3Puts': at(1.1),
    'p4.usdPerMillionOutbound': { max: 10, label: '≤ $10' },
    'p6.medianOfflineSeconds': at(5, ' s'),
    'p6.replacements': at(0),
    // Issue 12: a file is streamed through the runner, never held (held whole, it costs its size).
    'm1.sendRatio': at(1),
    'm1.receiveRatio': at(1),
  };
  return fixed[key];
};

/** Flattens a row's nested result (`{ perOutbound: { sqs: 2 } }`) into figures under `prefix`. */
export const toFigures = (prefix: string, result: object, leaseSeconds: number): Figure[] =>
  Object.entries(result).flatMap(([k, v]): Figure[] => {
    const key = `${prefix}.${k}`;
    if (v !== null && typeof v === 'object') return toFigures(key, v, leaseSeconds);
    const value = typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
    const target = targetFor(key, leaseSeconds);
    if (!target) return [{ key, value }];
    return [{ key, value, target, pass: typeof value === 'number' && value <= target.max }];
  });

/** The figures as the nested JSON of `.bench/results.json`: `{ value, target, pass }` at each key. */
export const toJson = (figures: Figure[]): Record<string, unknown> => {
  const root: Record<string, unknown> = {};
  for (const f of figures) {
    const path = f.key.split('.');
    let node = root;
    for (const part of path.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[path.at(-1) as string] = {
      value: f.value ?? null,
      ...(f.target && { target: f.target.label, pass: f.pass }),
    };
  }
  return root;
};

const show = (value: Figure['value']): string => {
  if (value === undefined) return 'not measured';
  if (typeof value === 'boolean') return String(value);
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
};

/** The table printed at the end: key, value, target, PASS/FAIL (blank when there is no target). */
export const formatTable = (figures: Figure[]): string => {
  const width = Math.max(10, ...figures.map((f) => f.key.length)) + 2;
  const lines = figures.map((f) => {
    const verdict = f.pass === undefined ? '' : f.pass ? 'PASS' : 'FAIL';
    return `${f.key.padEnd(width)}${show(f.value).padStart(12)}  ${(f.target?.label ?? '').padEnd(26)}${verdict}`;
  });
  return [`${'key'.padEnd(width)}${'value'.padStart(12)}  ${'target'.padEnd(26)}verdict`, ...lines].join(
    '\n',
  );
};
