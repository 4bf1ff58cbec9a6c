/** A flat key → bytes store (S3): what the session runner keeps auth state in. */
export interface ObjectStore {
  /** Resolves once the object is durably stored. */
  put(key: string, body: Buffer): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  /** Every key under the prefix, in lexicographic order. */
  list(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
}
