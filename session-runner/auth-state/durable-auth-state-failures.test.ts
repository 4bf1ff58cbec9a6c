import { describe, expect, it } from 'vitest';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { DurableAuthState, type DurableAuthStateOptions } from './durable-auth-state.ts';
import { parseEntryKey } from './journal-keys.ts';

// Regression tests for the failure paths of the auth-state journal (#10).

const session = (id: number) => ({ session: { 'alice.0': Buffer.from([id]) } });
const load = (store: InMemoryObjectStore, fence = 1, extra: Partial<DurableAuthStateOptions> = {}) =>
  DurableAuthState.load({ store, sessionId: 's1', fence, sleep: async () => undefined, ...extra });
const sessionOf = async (auth: DurableAuthState) => [
  ...(((await auth.state.keys.get('session', ['alice.0']))['alice.0'] as Buffer | undefined) ?? []),
];

/** A store whose puts fail while `failPut` says so. */
class FlakyStore extends InMemoryObjectStore {
  failPut: (key: string) => boolean = () => false;
  override async put(key: string, body: Buffer): Promise<void> {
    if (this.failPut(key)) {
      this.requests.put++;
      throw new Error('S3 down');
    }
    await super.put(key, body);
  }
}

describe('DurableAuthState failure paths', () => {
  it('does not report a failed compaction as a failed commit', async () => {
    const store = new FlakyStore();
    const errors: string[] = [];
    const auth = await load(store, 1, { compactEvery: 2, onError: (what) => errors.push(what) });
    store.failPut = (key) => key.endsWith('-s.json');
    await auth.state.keys.set(session(1));
    await expect(auth.state.keys.set(session(2))).resolves.toBeUndefined();
    await auth.settle();
    expect(await sessionOf(auth)).toEqual([2]);
    expect(errors).toContain('compaction failed');
    store.failPut = () => false;
    await auth.state.keys.set(session(3)); // compaction is tried again and now works
    await auth.settle();
    expect([...store.objects.keys()].some((k) => k.endsWith('-s.json'))).toBe(true);
    expect(await sessionOf(await load(store, 2))).toEqual([3]);
  });

  it('retries a failed creds write before any later key commit is stored (stop the line)', async () => {
    const store = new FlakyStore();
    let credsFailures = 2;
    store.failPut = (key) => key.endsWith('-c.json') && credsFailures-- > 0;
    const auth = await load(store);
    auth.state.creds.me = { id: '4915100000001:1@s.whatsapp.net' };
    const creds = auth.saveCreds();
    const keys = auth.state.keys.set(session(7));
    await expect(creds).resolves.toBeUndefined();
    await expect(keys).resolves.toBeUndefined();
    const names = [...store.objects.keys()].flatMap((k) => parseEntryKey(k) ?? []);
    expect(names.map((n) => n.kind)).toEqual(['creds', 'keys']);
    expect(store.requests.put).toBe(4); // two failed creds PUTs, then creds, then keys
    const again = await load(store, 2);
    expect(again.linked).toBe(true);
    expect(await sessionOf(again)).toEqual([7]);
  });

  it('writes creds saves queued together once, with the latest creds', async () => {
    const store = new FlakyStore();
    const auth = await load(store);
    const first = auth.state.keys.set(session(1)); // occupies the queue
    auth.state.creds.me = { id: '4915100000001:1@s.whatsapp.net' };
    const a = auth.saveCreds();
    auth.state.creds.me = { id: '4915100000001:2@s.whatsapp.net' };
    const b = auth.saveCreds();
    await Promise.all([first, a, b]);
    expect(store.requests.put).toBe(2);
    expect((await load(store, 2)).state.creds.me?.id).toBe('4915100000001:2@s.whatsapp.net');
  });

  it('gives up a creds write being retried once the session is abandoned (lease lost)', async () => {
    const store = new FlakyStore();
    store.failPut = () => true;
    let sleeps = 0;
    const auth = await load(store, 1, {
      sleep: async () => {
        if (++sleeps === 3) auth.abandon();
      },
    });
    await expect(auth.saveCreds()).rejects.toThrow('S3 down');
    await expect(auth.state.keys.set(session(1))).rejects.toThrow('abandoned');
  });

  it("lets a new owner load while a zombie compacts, and the zombie deletes nothing of the new owner's", async () => {
    const store = new InMemoryObjectStore();
    const zombie = await load(store, 1, { compactEvery: 1000 });
    for (let i = 1; i <= 4; i++) await zombie.state.keys.set(session(i));
    // The zombie compacts (and deletes) right after the new owner listed, before it reads.
    const get = store.get.bind(store);
    let compacted = false;
    store.get = async (key) => {
      if (!compacted) {
        compacted = true;
        await zombie.snapshot();
      }
      return get(key);
    };
    const owner = await load(store, 2);
    expect(await sessionOf(owner)).toEqual([4]);
    store.get = get;
    // Now the owner has written (its takeover snapshot): the zombie's next compaction deletes nothing.
    const before = [...store.objects.keys()];
    await zombie.state.keys.set(session(66));
    await zombie.snapshot();
    const after = [...store.objects.keys()];
    expect(before.every((k) => after.includes(k))).toBe(true);
    expect(await sessionOf(await load(store, 3))).toEqual([4]);
  });
});
