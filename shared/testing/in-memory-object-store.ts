import type { ObjectStore } from '../ports/object-store.ts';

export class InMemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  readonly requests = { put: 0, get: 0, list: 0, delete: 0 };
  /** Makes the next put fail, like S3 during an outage. */
  failNextPut?: Error;

  async put(key: string, body: Buffer): Promise<void> {
    this.requests.put++;
    if (this.failNextPut) {
      const error = this.failNextPut;
      this.failNextPut = undefined;
      throw error;
    }
    this.objects.set(key, Buffer.from(body));
  }
  async get(key: string): Promise<Buffer | undefined> {
    this.requests.get++;
    const body = this.objects.get(key);
    return body && Buffer.from(body);
  }
  async list(prefix: string): Promise<string[]> {
    this.requests.list++;
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async delete(keys: string[]): Promise<void> {
    this.requests.delete++;
    for (const key of keys) this.objects.delete(key);
  }
}
