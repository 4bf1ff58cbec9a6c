import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { DurableAuthState } from './durable-auth-state.ts';

const session = (id: Uint8Array) => ({ session: { 'alice.0': Buffer.from(id) } });
const load = (store: InMemoryObjectStore | S3ObjectStore, fence = 1, compactEvery = 50) =>
  DurableAuthState.load({ store, sessionId: 's1', fence, compactEvery });
const sessionOf = async (auth: DurableAuthState) =>
  (await auth.state.keys.get('session', ['alice.0']))['alice.0'] as Buffer | undefined;

describe('DurableAuthState', () => {
  it('starts with fresh, unlinked creds and writes nothing until something changes', async () => {
    const store = new InMemoryObjectStore();
    const auth = await load(store);
    expect(auth.linked).toBe(false);
    expect(auth.state.creds.noiseKey.public).toHaveLength(32);
    expect(store.objects.size).toBe(0);
  });

  it('stores one object per key commit and reloads creds and keys exactly', async () => {
    const store = new InMemoryObjectStore();
    const auth = await load(store);
    auth.state.creds.me = { id: '4915100000001:1@s.whatsapp.net' };
    await auth.saveCreds();
    await auth.state.keys.set(session(new Uint8Array([1, 2, 3])));
    await auth.state.keys.set({
      'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) }, '2': null },
    });
    expect(store.requests.put).toBe(3);

    const again = await load(store);
    expect(again.linked).toBe(true);
    expect(Buffer.from(again.state.creds.noiseKey.private)).toEqual(
      Buffer.from(auth.state.creds.noiseKey.private),
    );
    expect([...((await sessionOf(again)) ?? [])]).toEqual([1, 2, 3]);
    const preKeys = await again.state.keys.get('pre-key', ['1', '2']);
    expect(Object.keys(preKeys)).toEqual(['1']);
  });

  it('writes nothing for a commit that changes nothing, and only the changed keys otherwise', async () => {
    const store = new InMemoryObjectStore();
    const auth = await load(store);
    await auth.state.keys.set({
      'lid-mapping': { '4915100000001': '123456789' },
      ...session(new Uint8Array([1])),
    });
    expect(store.requests.put).toBe(1);
    await auth.state.keys.set({ 'lid-mapping': { '4915100000001': '123456789' } });
    await auth.state.keys.set({ 'pre-key': { '99': null } });
    expect(store.requests.put).toBe(1);
    await auth.state.keys.set({
      'lid-mapping': { '4915100000001': '123456789' },
      ...session(new Uint8Array([2])),
    });
    expect(store.requests.put).toBe(2);
    const written = [...store.objects.values()].at(-1)?.toString() ?? '';
    expect(written).not.toContain('lid-mapping');
    expect([...((await sessionOf(await load(store))) ?? [])]).toEqual([2]);
  });

  it('changes memory only after the write is durable, and a failed commit leaves no trace', async () => {
    const store = new InMemoryObjectStore();
    const auth = await load(store);
    await auth.state.keys.set(session(new Uint8Array([1])));
    store.failNextPut = new Error('S3 down');
    await expect(auth.state.keys.set(session(new Uint8Array([2])))).rejects.toThrow('S3 down');
    expect([...((await sessionOf(auth)) ?? [])]).toEqual([1]);
    expect([...((await sessionOf(await load(store))) ?? [])]).toEqual([1]);
    // The next commit still works and wins.
    await auth.state.keys.set(session(new Uint8Array([3])));
    expect([...((await sessionOf(await load(store))) ?? [])]).toEqual([3]);
  });

  it('compacts into a snapshot and deletes what it replaces', async () => {
    const store = new InMemoryObjectStore();
    const auth = await load(store, 1, 5);
    for (let i = 0; i < 12; i++) await auth.state.keys.set(session(new Uint8Array([i])));
    expect(store.objects.size).toBeLessThanOrEqual(3);
    expect([...((await sessionOf(await load(store))) ?? [])]).toEqual([11]);
  });

  it('ignores what a fenced-out runner writes after a new owner took over', async () => {
    const store = new InMemoryObjectStore();
    const zombie = await load(store, 1);
    await zombie.state.keys.set(session(new Uint8Array([1])));
    const owner = await load(store, 2);
    await zombie.state.keys.set(session(new Uint8Array([66])));
    await zombie.snapshot();
    await owner.state.keys.set(session(new Uint8Array([2])));
    await zombie.state.keys.set(session(new Uint8Array([67])));
    const next = await load(store, 3);
    expect([...((await sessionOf(next)) ?? [])]).toEqual([2]);
  });

  it('deletes everything on destroy (logout)', async () => {
    const store = new InMemoryObjectStore();
    const auth = await load(store);
    await auth.state.keys.set(session(new Uint8Array([1])));
    await auth.saveCreds();
    await auth.destroy();
    expect(store.objects.size).toBe(0);
    expect((await load(store)).linked).toBe(false);
  });

  it('round-trips through S3 (fauxqs) with one PUT per commit', async () => {
    const { s3 } = createAwsClients({ S3_ENDPOINT: inject('fauxqsEndpoint') });
    const bucket = `auth${Math.random().toString(16).slice(2, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const store = new S3ObjectStore(s3, bucket);
    const auth = await load(store);
    await auth.saveCreds();
    await auth.state.keys.set(session(new Uint8Array([9, 9])));
    expect(store.requests.put).toBe(2);
    const again = await load(store, 2);
    expect([...((await sessionOf(again)) ?? [])]).toEqual([9, 9]);
    expect(Buffer.from(again.state.creds.signedIdentityKey.public)).toEqual(
      Buffer.from(auth.state.creds.signedIdentityKey.public),
    );
    s3.destroy();
  });
});
