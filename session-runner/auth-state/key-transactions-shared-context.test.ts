import { addTransactionCapability, type SignalDataSet, type SignalKeyStore } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { silentBaileysLogger } from '../baileys-logger.ts';

// The Baileys patch gives every socket's key store one shared AsyncLocalStorage, each store's
// transaction context under its own token (one instance per socket made every promise of the
// process walk all of them: with 200 sockets, 200k awaits took 81 s instead of 0.7 s). A store's
// transaction must stay its own, exactly as with an instance per store.

/** A key store that records what reaches it. */
const recording = () => {
  const writes: SignalDataSet[] = [];
  const store: SignalKeyStore = { get: async () => ({}), set: async (data) => void writes.push(data) };
  const keys = addTransactionCapability(store, silentBaileysLogger, {
    maxCommitRetries: 1,
    delayBetweenTriesMs: 0,
  });
  return { keys, writes };
};
const session = (n: number) => ({ session: { 'alice.0': Buffer.from([n]) } });

describe('Baileys key transactions with one shared context storage', () => {
  it("a store's transaction is not another store's: the other writes at once, the first at its commit", async () => {
    const a = recording();
    const b = recording();
    await a.keys.transaction(async () => {
      expect(a.keys.isInTransaction()).toBe(true);
      expect(b.keys.isInTransaction()).toBe(false);
      await a.keys.set(session(1));
      await b.keys.set(session(2));
      expect(a.writes).toHaveLength(0);
      expect(b.writes).toEqual([session(2)]);
    }, 'me');
    expect(a.writes).toEqual([session(1)]);
    expect(a.keys.isInTransaction()).toBe(false);
  });

  it("a transaction of one store inside another's keeps both, and each commits its own writes", async () => {
    const a = recording();
    const b = recording();
    await a.keys.transaction(async () => {
      await b.keys.transaction(async () => {
        expect(a.keys.isInTransaction()).toBe(true);
        expect(b.keys.isInTransaction()).toBe(true);
        await a.keys.set(session(1));
        await b.keys.set(session(2));
      }, 'me');
      expect(b.writes).toEqual([session(2)]);
      expect(b.keys.isInTransaction()).toBe(false);
      expect(a.writes).toHaveLength(0);
    }, 'me');
    expect(a.writes).toEqual([session(1)]);
  });

  it('transactions of 200 stores at once each see only their own context', async () => {
    const stores = Array.from({ length: 200 }, recording);
    await Promise.all(
      stores.map((s, i) =>
        s.keys.transaction(async () => {
          await new Promise((r) => setTimeout(r, i % 7));
          await s.keys.set(session(i % 256));
          expect(stores.filter((o) => o.keys.isInTransaction())).toEqual([s]);
        }, 'me'),
      ),
    );
    expect(stores.map((s) => s.writes)).toEqual(stores.map((_, i) => [session(i % 256)]));
  });
});
