import { describe, expect, it } from 'vitest';
import {
  dynamoItemBytes,
  formatTable,
  PRICES_USD,
  targetFor,
  toFigures,
  toJson,
  usdPerMillion,
  writeUnitsOf,
} from './report.ts';

describe('bench report', () => {
  it('prices one message per million from its request counts and the written prices', () => {
    const usd = usdPerMillion({ sqs: 2, dynamodbReads: 3, dynamodbWrites: 4, s3Puts: 1, s3Gets: 1 });
    expect(usd).toBeCloseTo(2 * 0.5 + 3 * 0.125 + 4 * 0.625 + 5 + 0.4, 6);
    expect(PRICES_USD.s3Put * 1e6).toBeCloseTo(5, 6);
  });

  it('prices DynamoDB by request units when they are given (a transactional item costs two)', () => {
    const base = { sqs: 0, dynamodbReads: 1, dynamodbWrites: 1, s3Puts: 0, s3Gets: 0 };
    expect(usdPerMillion({ ...base, dynamodbWriteUnits: 4, dynamodbReadUnits: 2 })).toBeCloseTo(
      4 * 0.625 + 2 * 0.125,
      6,
    );
  });

  it('sizes a DynamoDB item as DynamoDB bills it: names and values in bytes, numbers by digits, maps and lists with overhead', () => {
    expect(dynamoItemBytes({ pk: 'MESSAGE#1' })).toBe(2 + 9);
    expect(dynamoItemBytes({ n: 1234 })).toBe(1 + 3);
    expect(dynamoItemBytes({ t: 'ü' })).toBe(1 + 2);
    expect(dynamoItemBytes({ b: true, z: null })).toBe(2 + 2);
    expect(dynamoItemBytes({ m: { a: 'x' } })).toBe(1 + 3 + 1 + 1 + 1);
    expect(dynamoItemBytes({ l: ['x', 'yy'] })).toBe(1 + 3 + 2 + 3);
    expect([writeUnitsOf(10), writeUnitsOf(1024), writeUnitsOf(1025), writeUnitsOf(4500)]).toEqual([
      1, 1, 2, 5,
    ]);
  });

  it('passes a figure at its target and fails one above it', () => {
    const [atLimit, above, noTarget] = toFigures(
      'p4',
      { perOutbound: { sqs: 3, s3Puts: 1.2, s3Gets: 7 } },
      10,
    );
    expect(atLimit).toMatchObject({ key: 'p4.perOutbound.sqs', value: 3, pass: true });
    expect(above).toMatchObject({ key: 'p4.perOutbound.s3Puts', value: 1.2, pass: false });
    expect(noTarget).toEqual({ key: 'p4.perOutbound.s3Gets', value: 7 });
  });

  it('fails a figure with a target that could not be measured', () => {
    const [f] = toFigures('p6', { medianOfflineSeconds: undefined }, 10);
    expect(f).toMatchObject({ value: undefined, pass: false });
  });

  it('sets the crash restore target from the lease of the run and every bundle at 300 KB', () => {
    expect(targetFor('p3.crashRestoreSeconds', 10)?.max).toBe(25);
    expect(targetFor('p5.functions.SendFn.bytes', 10)?.max).toBe(300 * 1024);
    expect(targetFor('p5.functions.SendFn.initRatio', 10)).toBeUndefined();
    expect(targetFor('p3.newQr', 10)?.max).toBe(0);
  });

  it('nests the figures under their keys with value, target and verdict', () => {
    const json = toJson(toFigures('p5', { functions: { AuthFn: { bytes: 400_000, initRatio: 1.5 } } }, 10));
    expect(json).toEqual({
      p5: {
        functions: {
          AuthFn: { bytes: { value: 400_000, target: '≤ 300 KB', pass: false }, initRatio: { value: 1.5 } },
        },
      },
    });
  });

  it('prints one line per figure with its verdict', () => {
    const table = formatTable(toFigures('p6', { medianOfflineSeconds: 2.5, replacements: 1 }, 10));
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^p6\.medianOfflineSeconds\s+2\.50\s+≤ 5 s\s+PASS$/);
    expect(lines[2]).toMatch(/^p6\.replacements\s+1\s+≤ 0\s+FAIL$/);
  });
});
