import MnemonistModule from 'mnemonist/lru-cache.js';
import { describe, expect, it } from 'vitest';
import LRUCache from './bundle-lru-cache.ts';

// A CommonJS module: its default import is the class itself (the typings describe `.default`).
const MnemonistLru = MnemonistModule as unknown as typeof MnemonistModule.default;

/** A small deterministic generator, so that a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe('the Lambda bundles’ LRU cache (stand-in for mnemonist/lru-cache)', () => {
  it('answers every get, peek and has like mnemonist over a long random sequence, evictions included', () => {
    const next = random(7);
    const ours = new LRUCache<string, number>(4);
    const theirs = new MnemonistLru<string, number>(4);
    for (let step = 0; step < 5_000; step++) {
      const key = `k${Math.floor(next() * 9)}`;
      const op = Math.floor(next() * 5);
      if (op === 0) {
        ours.set(key, step);
        theirs.set(key, step);
      } else if (op === 1) expect(ours.get(key), `get ${key} at ${step}`).toBe(theirs.get(key));
      else if (op === 2) expect(ours.peek(key), `peek ${key} at ${step}`).toBe(theirs.peek(key));
      else if (op === 3) expect(ours.has(key), `has ${key} at ${step}`).toBe(theirs.has(key));
      else if (step % 500 === 0) {
        ours.clear();
        theirs.clear();
      }
      expect(ours.size).toBe(theirs.size);
    }
  });

  it('evicts the least recently read key, not the oldest written one', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
  });

  it('keeps recency on peek', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    cache.peek('a');
    cache.set('c', 3);
    expect(cache.has('a')).toBe(false);
  });
});
