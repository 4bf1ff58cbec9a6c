import { randomBytes } from 'node:crypto';
import { BufferJSON, initAuthCreds } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { parseBufferJson } from './buffer-json.ts';

const baileys = (text: string) => JSON.parse(text, BufferJSON.reviver);
const encode = (value: unknown) => JSON.stringify(value, BufferJSON.replacer);

/** A random JSON document with Buffers, numeric-keyed objects and the odd near-miss in it. */
const randomDoc = (depth: number, rnd: () => number): unknown => {
  const pick = Math.floor(rnd() * (depth > 3 ? 5 : 9));
  switch (pick) {
    case 0:
      return Math.floor(rnd() * 300);
    case 1:
      return rnd() < 0.5 ? `s${Math.floor(rnd() * 10)}` : rnd() < 0.5;
    case 2:
      return null;
    case 3: // as BufferJSON.replacer writes a Buffer
      return { type: 'Buffer', data: randomBytes(Math.floor(rnd() * 40)).toString('base64') };
    case 4:
      return { type: 'Buffer', data: rnd() < 0.5 ? 'not a list' : 7 };
    case 5:
      return Array.from({ length: Math.floor(rnd() * 4) }, () => randomDoc(depth + 1, rnd));
    case 6: // numeric keys: numbers only becomes a Buffer, anything else stays an object
      return Object.fromEntries(
        Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => [
          String(i + (rnd() < 0.2 ? 0.5 : 0)),
          rnd() < 0.7 ? Math.floor(rnd() * 256) : randomDoc(depth + 1, rnd),
        ]),
      );
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(rnd() * 5) }, (_, i) => [
          rnd() < 0.3 ? `${i}x` : `k${i}`,
          randomDoc(depth + 1, rnd),
        ]),
      );
  }
};

/** Deterministic random numbers (a run that fails can be replayed). */
const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe('parseBufferJson', () => {
  it('reads an auth-state entry (creds and pre-keys) exactly as BufferJSON.reviver does', () => {
    const preKeys = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        String(i + 1),
        { public: randomBytes(32), private: randomBytes(32) },
      ]),
    );
    const text = encode({
      v: 1,
      kind: 'snapshot',
      fence: 3,
      creds: initAuthCreds(),
      keys: { 'pre-key': preKeys },
    });
    const ours = parseBufferJson(text) as { keys: { 'pre-key': Record<string, { public: Buffer }> } };
    expect(ours).toStrictEqual(baileys(text));
    expect(Buffer.isBuffer(ours.keys['pre-key']['7']?.public)).toBe(true);
    expect(ours.keys['pre-key']['7']?.public).toEqual(preKeys['7']?.public);
  });

  it('gives the same result as BufferJSON.reviver on 500 random documents', () => {
    const rnd = seeded(14);
    for (let i = 0; i < 500; i++) {
      const text = JSON.stringify({ doc: randomDoc(0, rnd) });
      expect(parseBufferJson(text), text).toStrictEqual(baileys(text));
    }
  });

  it('turns a numeric-keyed object of numbers into a Buffer and leaves a mixed one an object', () => {
    expect(parseBufferJson('{"a":{"0":1,"1":2},"b":{"0":1,"x":2},"c":{"0":1,"1":"2"},"d":{}}')).toEqual({
      a: Buffer.from([1, 2]),
      b: { 0: 1, x: 2 },
      c: { 0: 1, 1: '2' },
      d: {},
    });
  });

  it('keeps a "__proto__" key a plain property, as JSON.parse does', () => {
    const parsed = parseBufferJson('{"__proto__":{"type":"Buffer","data":"AQI="}}') as object;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual(Buffer.from([1, 2]));
  });
});
