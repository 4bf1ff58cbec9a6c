import { describe, expect, it } from 'vitest';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { DurableAuthState } from './durable-auth-state.ts';

// A long journal is compacted once its session has been quiet for a while, so that the next owner's
// load after a restart reads a snapshot and a few entries instead of everything since linking.

/** Timers that fire only when told to. */
class ManualTimers {
  private next = 0;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  setTimeout = (fn: () => void, ms: number): unknown => {
    this.next += 1;
    this.pending.set(this.next, { fn, ms });
    return this.next;
  };
  clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };
  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const t of due) t.fn();
  }
}

const session = (id: number) => ({ session: { 'alice.0': Buffer.from([id]) } });
const sessionOf = async (auth: DurableAuthState) => [
  ...(((await auth.state.keys.get('session', ['alice.0']))['alice.0'] as Buffer | undefined) ?? []),
];
const load = (store: InMemoryObjectStore, timers: ManualTimers, fence = 1) =>
  DurableAuthState.load({ store, sessionId: 's1', fence, idleCompactMs: 60_000, timers });

describe('DurableAuthState idle compaction', () => {
  it('compacts a journal of 4 entries once the session is quiet for the idle time', async () => {
    const store = new InMemoryObjectStore();
    const timers = new ManualTimers();
    const owner = await load(store, timers);
    for (let i = 1; i <= 3; i++) await owner.state.keys.set(session(i));
    expect(timers.pending.size).toBe(0);
    await owner.state.keys.set(session(4));
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([60_000]);
    timers.fireAll();
    await owner.settle();
    expect([...store.objects.keys()]).toHaveLength(1);
    expect([...store.objects.keys()][0]).toMatch(/-s\.json$/);
    expect(await sessionOf(await load(store, timers, 2))).toEqual([4]);
  });

  it('a commit within the quiet time starts the wait again (one pending compaction)', async () => {
    const store = new InMemoryObjectStore();
    const timers = new ManualTimers();
    const owner = await load(store, timers);
    for (let i = 1; i <= 6; i++) await owner.state.keys.set(session(i));
    expect(timers.pending.size).toBe(1);
    timers.fireAll();
    await owner.settle();
    expect(store.objects.size).toBe(1);
    // Compacted: fewer than 4 entries since the snapshot arm nothing.
    await owner.state.keys.set(session(7));
    expect(timers.pending.size).toBe(0);
  });

  it('counts the entries of earlier owners: a new owner compacts what linking and takeovers left', async () => {
    const store = new InMemoryObjectStore();
    const timers = new ManualTimers();
    const first = await load(store, timers);
    for (let i = 1; i <= 3; i++) await first.state.keys.set(session(i));
    await first.flush(); // a short journal: left as it is
    expect(store.objects.size).toBe(3);
    const owner = await load(store, timers, 2); // its takeover entry is the 4th
    expect(timers.pending.size).toBe(1);
    timers.fireAll();
    await owner.settle();
    expect(store.objects.size).toBe(1);
    expect(await sessionOf(await load(store, timers, 3))).toEqual([3]);
  });

  it('never compacts after a shutdown, a logout or a lost lease', async () => {
    for (const end of ['flush', 'destroy', 'abandon'] as const) {
      const store = new InMemoryObjectStore();
      const timers = new ManualTimers();
      const owner = await load(store, timers);
      for (let i = 1; i <= 4; i++) await owner.state.keys.set(session(i));
      expect(timers.pending.size).toBe(1);
      await owner[end]();
      expect(timers.pending.size).toBe(0);
      const puts = store.requests.put;
      timers.fireAll();
      await owner.settle();
      expect(store.requests.put).toBe(puts);
    }
  });
});
