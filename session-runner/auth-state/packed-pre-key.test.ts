import { randomBytes } from 'node:crypto';
import { Curve } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { DurableAuthState } from './durable-auth-state.ts';
import { packPreKey, unpackPreKey } from './packed-pre-key.ts';

const pair = () => Curve.generateKeyPair();

describe('packed pre-keys', () => {
  it('pack a Baileys key pair into one 88-character string and unpack it to equal Buffers', () => {
    const keyPair = pair();
    const packed = packPreKey(keyPair);
    expect(typeof packed).toBe('string');
    expect(packed).toHaveLength(88);
    const back = unpackPreKey(packed) as { private: Buffer; public: Buffer };
    expect(Object.keys(back)).toEqual(['private', 'public']);
    expect(Buffer.isBuffer(back.private) && Buffer.isBuffer(back.public)).toBe(true);
    expect(back.private.equals(keyPair.private)).toBe(true);
    expect(back.public.equals(keyPair.public)).toBe(true);
  });

  it('pack keys that are views into a larger buffer by their own bytes only', () => {
    const big = randomBytes(100);
    const keyPair = {
      public: big.subarray(10, 42),
      private: new Uint8Array(big.buffer, big.byteOffset + 50, 32),
    };
    const back = unpackPreKey(packPreKey(keyPair)) as { private: Buffer; public: Buffer };
    expect(back.public.equals(big.subarray(10, 42))).toBe(true);
    expect(back.private.equals(big.subarray(50, 82))).toBe(true);
  });

  it('keep anything that is not exactly a pair of 32-byte keys as it came', () => {
    const odd = [
      { private: Buffer.alloc(32), public: Buffer.alloc(33) },
      { private: Buffer.alloc(32), public: Buffer.alloc(32), extra: 1 },
      { private: 'x', public: Buffer.alloc(32) },
      'a string',
      null,
    ];
    for (const value of odd) expect(packPreKey(value)).toBe(value);
    for (const value of odd.filter((v) => typeof v !== 'string')) expect(unpackPreKey(value)).toBe(value);
  });
});

describe('DurableAuthState with packed pre-keys', () => {
  const preKeys = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i + 1), pair()]));
  const bytesOf = (keys: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(keys).map(([id, k]) => {
        const { private: priv, public: pub } = k as { private: Uint8Array; public: Uint8Array };
        return [id, [Buffer.from(priv).toString('hex'), Buffer.from(pub).toString('hex')]];
      }),
    );

  it('gives back the pre-keys it was given, after a reload from the journal and from a snapshot', async () => {
    const store = new InMemoryObjectStore();
    const auth = await DurableAuthState.load({ store, sessionId: 's1', fence: 1, idleCompactMs: 0 });
    const written = preKeys(30);
    await auth.state.keys.set({ 'pre-key': written });
    const ids = Object.keys(written);
    expect(bytesOf(await auth.state.keys.get('pre-key', ids))).toEqual(bytesOf(written));

    const fromJournal = await DurableAuthState.load({ store, sessionId: 's1', fence: 1, idleCompactMs: 0 });
    expect(bytesOf(await fromJournal.state.keys.get('pre-key', ids))).toEqual(bytesOf(written));

    await fromJournal.state.keys.set({ 'pre-key': { '1': null } });
    await fromJournal.snapshot();
    const fromSnapshot = await DurableAuthState.load({ store, sessionId: 's1', fence: 1, idleCompactMs: 0 });
    const { '1': _used, ...left } = written;
    expect(bytesOf(await fromSnapshot.state.keys.get('pre-key', ids))).toEqual(bytesOf(left));
  });

  it('writes nothing for pre-keys set again with the same bytes, and one entry for a changed one', async () => {
    const store = new InMemoryObjectStore();
    const auth = await DurableAuthState.load({ store, sessionId: 's1', fence: 1, idleCompactMs: 0 });
    const written = preKeys(3);
    await auth.state.keys.set({ 'pre-key': written });
    expect(store.requests.put).toBe(1);
    // The same keys as fresh Uint8Arrays, their properties in the other order.
    const same = Object.fromEntries(
      Object.entries(written).map(([id, k]) => [
        id,
        { public: new Uint8Array(k.public), private: new Uint8Array(k.private) },
      ]),
    );
    await auth.state.keys.set({ 'pre-key': same });
    expect(store.requests.put).toBe(1);
    await auth.state.keys.set({ 'pre-key': { '2': pair() } });
    expect(store.requests.put).toBe(2);
  });

  it('hands out a new copy on every read: a caller that changes it does not change the store', async () => {
    const store = new InMemoryObjectStore();
    const auth = await DurableAuthState.load({ store, sessionId: 's1', fence: 1, idleCompactMs: 0 });
    const keyPair = pair();
    await auth.state.keys.set({ 'pre-key': { '7': keyPair } });
    const first = (await auth.state.keys.get('pre-key', ['7']))['7'];
    first?.private.fill(0);
    const second = (await auth.state.keys.get('pre-key', ['7']))['7'];
    expect(Buffer.from(second?.private ?? []).equals(keyPair.private)).toBe(true);
  });
});
