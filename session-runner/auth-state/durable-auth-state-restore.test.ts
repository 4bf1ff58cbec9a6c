import { describe, expect, it } from 'vitest';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { DurableAuthState } from './durable-auth-state.ts';

// What a restart of hundreds of sessions costs: a takeover writes a small entry instead of a
// snapshot, a shutdown compacts only a long journal, and a journal is read in one round of GETs.

const session = (id: number) => ({ session: { 'alice.0': Buffer.from([id]) } });
const load = (store: InMemoryObjectStore, fence: number, compactEvery = 50) =>
  DurableAuthState.load({ store, sessionId: 's1', fence, compactEvery });
const sessionOf = async (auth: DurableAuthState) => [
  ...(((await auth.state.keys.get('session', ['alice.0']))['alice.0'] as Buffer | undefined) ?? []),
];

/** Holds every GET until `open()`, counting how many wait at the same time. */
class GatedStore extends InMemoryObjectStore {
  waiting = 0;
  maxWaiting = 0;
  private gate?: Promise<void>;
  private release?: () => void;

  close(): void {
    this.gate = new Promise((r) => {
      this.release = r;
    });
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }
  override async get(key: string): Promise<Buffer | undefined> {
    this.waiting++;
    this.maxWaiting = Math.max(this.maxWaiting, this.waiting);
    await this.gate;
    this.waiting--;
    return super.get(key);
  }
}

describe('DurableAuthState on a restart', () => {
  it('a new owner takes over with a small creds entry under its fence, not a snapshot', async () => {
    const store = new InMemoryObjectStore();
    const first = await load(store, 1);
    await first.state.keys.set(session(1));
    const owner = await load(store, 2);
    const written = [...store.objects.keys()].filter((k) => k.includes('-0000000002-'));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/-c\.json$/);
    // From here on what the old owner writes no longer counts.
    await first.state.keys.set(session(66));
    await owner.state.keys.set(session(2));
    await first.state.keys.set(session(67));
    expect(await sessionOf(await load(store, 3))).toEqual([2]);
  });

  it('a shutdown with a short journal writes nothing more (the next owner reads it in parallel)', async () => {
    const store = new InMemoryObjectStore();
    await (await load(store, 1)).state.keys.set(session(1));
    const owner = await load(store, 2);
    await owner.state.keys.set(session(2));
    const before = { ...store.requests };
    await owner.flush();
    expect(store.requests).toEqual(before);
    expect(await sessionOf(await load(store, 3))).toEqual([2]);
  });

  it('a shutdown compacts a long journal into a snapshot and deletes what it replaces', async () => {
    const store = new InMemoryObjectStore();
    const owner = await load(store, 1);
    for (let i = 1; i <= 10; i++) await owner.state.keys.set(session(i));
    await owner.flush();
    expect([...store.objects.keys()]).toHaveLength(1);
    expect([...store.objects.keys()][0]).toMatch(/-s\.json$/);
    expect(await sessionOf(await load(store, 2))).toEqual([10]);
  });

  it('counts the entries of earlier owners: a journal long across handovers is compacted at shutdown', async () => {
    const store = new InMemoryObjectStore();
    const first = await load(store, 1);
    for (let i = 1; i <= 8; i++) await first.state.keys.set(session(i));
    const owner = await load(store, 2); // its takeover entry is the 9th
    await owner.state.keys.set(session(9));
    await owner.flush();
    expect([...store.objects.keys()]).toHaveLength(1);
    expect(await sessionOf(await load(store, 3))).toEqual([9]);
  });

  it('a shutdown after a commit whose PUT failed compacts (the failed PUT may have been stored)', async () => {
    const store = new InMemoryObjectStore();
    await (await load(store, 1)).state.keys.set(session(1));
    const owner = await load(store, 2);
    store.failNextPut = new Error('S3 timed out');
    await expect(owner.state.keys.set(session(2))).rejects.toThrow('S3 timed out');
    const puts = store.requests.put;
    await owner.flush();
    expect(store.requests.put).toBe(puts + 1);
    expect(await sessionOf(await load(store, 3))).toEqual([1]);
  });

  it('a takeover whose first write fails fails the load', async () => {
    const store = new InMemoryObjectStore();
    await (await load(store, 1)).state.keys.set(session(1));
    store.failNextPut = new Error('S3 down');
    await expect(load(store, 2)).rejects.toThrow('S3 down');
    expect(await sessionOf(await load(store, 2))).toEqual([1]);
  });

  it('reloaded by the same fence, a journal that is one snapshot is not written again', async () => {
    const store = new InMemoryObjectStore();
    const owner = await load(store, 1);
    await owner.state.keys.set(session(1));
    await owner.snapshot();
    const again = await load(store, 1);
    const puts = store.requests.put;
    await again.snapshot();
    expect(store.requests.put).toBe(puts);
  });

  it('reads every entry of the journal at the same time and applies them in order', async () => {
    const store = new GatedStore();
    const owner = await load(store, 1);
    for (let i = 1; i <= 4; i++) await owner.state.keys.set(session(i));
    store.close();
    const loading = load(store, 1);
    await expect.poll(() => store.waiting).toBe(4);
    store.open();
    const loaded = await loading;
    expect(store.maxWaiting).toBe(4);
    expect(await sessionOf(loaded)).toEqual([4]);
  });

  it('creds saved again unchanged (Baileys on every connect) are not written again', async () => {
    const store = new InMemoryObjectStore();
    const first = await load(store, 1);
    first.state.creds.me = { id: '4915100000001:1@s.whatsapp.net', lid: '123:1@lid' };
    await first.saveCreds();
    await first.saveCreds();
    expect(store.requests.put).toBe(1);
    const owner = await load(store, 2); // the takeover entry holds the creds under fence 2
    const puts = store.requests.put;
    owner.state.creds.me = { ...owner.state.creds.me, lid: '123:1@lid' } as typeof owner.state.creds.me;
    await owner.saveCreds();
    expect(store.requests.put).toBe(puts);
    owner.state.creds.me = { id: '4915100000001:1@s.whatsapp.net', lid: '456:1@lid' };
    await owner.saveCreds();
    expect(store.requests.put).toBe(puts + 1);
    expect((await load(store, 3)).state.creds.me?.lid).toBe('456:1@lid');
  });

  it('after a snapshot whose PUT failed, unchanged creds are written again (it may not be stored)', async () => {
    const store = new InMemoryObjectStore();
    const owner = await load(store, 1);
    owner.state.creds.me = { id: '4915100000001:1@s.whatsapp.net' };
    await owner.saveCreds();
    await owner.state.keys.set(session(1));
    store.failNextPut = new Error('S3 timed out');
    await expect(owner.snapshot()).rejects.toThrow('S3 timed out');
    const puts = store.requests.put;
    await owner.saveCreds();
    expect(store.requests.put).toBe(puts + 1);
    await owner.saveCreds();
    expect(store.requests.put).toBe(puts + 1);
    expect((await load(store, 2)).state.creds.me?.id).toBe('4915100000001:1@s.whatsapp.net');
  });

  it('creds changed after a creds write and before a snapshot count as stored only with the snapshot', async () => {
    const store = new InMemoryObjectStore();
    const owner = await load(store, 1);
    owner.state.creds.me = { id: '4915100000001:1@s.whatsapp.net' };
    await owner.saveCreds();
    owner.state.creds.me = { id: '4915100000002:1@s.whatsapp.net' };
    await owner.snapshot(); // holds the second id
    const puts = store.requests.put;
    owner.state.creds.me = { id: '4915100000001:1@s.whatsapp.net' };
    await owner.saveCreds();
    expect(store.requests.put).toBe(puts + 1);
    expect((await load(store, 2)).state.creds.me?.id).toBe('4915100000001:1@s.whatsapp.net');
  });
});
