import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { DurableAuthState } from './durable-auth-state.ts';

// WhatsApp can end a session without a logout (440 replaced, 405, QR timeout) and a `start` can open
// the next instance of it within a minute, under the same fence (no takeover), continuing the same
// sequence numbers. The ended instance must leave that journal alone.

const timers = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
};
const load = (store: InMemoryObjectStore, fence = 1) =>
  DurableAuthState.load({ store, sessionId: 's1', fence, idleCompactMs: 60_000, timers });
const sessionKey = (id: number) => ({ session: { 'alice.0': Buffer.from([id]) } });
const sessionOf = async (auth: DurableAuthState) => [
  ...(((await auth.state.keys.get('session', ['alice.0']))['alice.0'] as Buffer | undefined) ?? []),
];

/** A linked instance with 5 journal entries since its snapshot: its idle compaction is armed. */
const linkedWithArmedIdleTimer = async (store: InMemoryObjectStore) => {
  const auth = await load(store);
  auth.state.creds.me = { id: '15550001111:1@s.whatsapp.net', lid: '1234:1@lid' };
  await auth.saveCreds();
  for (let i = 1; i <= 4; i++) await auth.state.keys.set(sessionKey(i));
  expect(vi.getTimerCount()).toBe(1);
  return auth;
};

describe('DurableAuthState.retire', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("an ended instance's idle compaction never fires into the next instance's journal under the same fence", async () => {
    const store = new InMemoryObjectStore();
    const ended = await linkedWithArmedIdleTimer(store);
    await ended.retire(); // what the session does when WhatsApp ends it (no logout)

    await vi.advanceTimersByTimeAsync(30_000);
    const next = await load(store); // `start` again, same fence: same next sequence number
    expect(next.linked).toBe(true);
    await next.state.keys.set(sessionKey(99));
    // Past the ended instance's 60 s, before the next one's own idle compaction.
    await vi.advanceTimersByTimeAsync(31_000);
    await next.settle();

    const reloaded = await load(store, 2);
    expect(reloaded.linked).toBe(true);
    expect(reloaded.state.creds.me?.id).toBe('15550001111:1@s.whatsapp.net');
    expect(await sessionOf(reloaded)).toEqual([99]);
  });

  it('refuses commits asked after it, skips snapshots and stores the commits asked before', async () => {
    const store = new InMemoryObjectStore();
    const auth = await linkedWithArmedIdleTimer(store);
    const before = auth.state.keys.set(sessionKey(5));
    const retired = auth.retire();
    await expect(auth.state.keys.set(sessionKey(6))).rejects.toThrow(/retired/);
    await auth.snapshot(); // skipped: a compaction changes no state
    auth.state.creds.me = { id: '15550002222:1@s.whatsapp.net' };
    await expect(auth.saveCreds()).rejects.toThrow(/retired/);
    await before;
    await retired;
    const puts = store.requests.put;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(store.requests.put).toBe(puts);

    const reloaded = await load(store, 2);
    expect(await sessionOf(reloaded)).toEqual([5]);
    expect(reloaded.state.creds.me?.id).toBe('15550001111:1@s.whatsapp.net');
  });
});
