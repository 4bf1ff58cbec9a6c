/**
 * Stands in for `mnemonist/lru-cache` in the Lambda bundles (an esbuild alias in
 * infra/bundle-lambda.ts). Its one user there is `@aws-sdk/endpoint-cache` (the
 * DynamoDB client's endpoint discovery cache), which calls `get`, `set`, `has`, `peek` and
 * `clear`; mnemonist brings its whole typed-array LRU and iterator helpers (about 7 KB of every
 * bundle with a DynamoDB client) for that. A Map keeps insertion order, which is all an LRU needs:
 * a read moves the key to the end, a write past the capacity drops the first key.
 * infra/bundle-lru-cache.test.ts runs the same operations on both and compares.
 */
export default class LRUCache<K, V> {
  private readonly items = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error('LRUCache: capacity should be a positive number');
  }

  get size(): number {
    return this.items.size;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    if (!this.items.has(key)) return undefined;
    const value = this.items.get(key) as V;
    this.items.delete(key);
    this.items.set(key, value);
    return value;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.items.get(key);
  }

  has(key: K): boolean {
    return this.items.has(key);
  }

  /** Stores the value as the most recently used, evicting the least recently used beyond capacity. */
  set(key: K, value: V): this {
    this.items.delete(key);
    this.items.set(key, value);
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as K);
    return this;
  }

  clear(): void {
    this.items.clear();
  }
}
