import { describe, expect, it } from 'vitest';
import {
  attemptAtLoss,
  type EndedHow,
  type LifeEvent,
  type LifeState,
  nextState,
  STABLE_OPEN_MS,
  socketOf,
} from './session-life-cycle.ts';

const sock = { id: 'sock-1' };
const other = { id: 'sock-2' };
const timer = { id: 'timer' };
type State = LifeState<typeof sock, typeof timer>;
type Event = LifeEvent<typeof sock, typeof timer>;

const loading: State = { kind: 'loading' };
const connecting: State = { kind: 'connecting', sock, attempt: 2 };
const qr: State = { kind: 'qr', sock, attempt: 2 };
const open: State = { kind: 'open', sock, attempt: 2, openedAt: 1_000 };
const backoff: State = { kind: 'backoff', timer, attempt: 3 };
const ends: EndedHow[] = ['stopped', 'halted', 'shutdown', 'closed'];
const events: Event[] = [
  { type: 'dial', sock: other },
  { type: 'qr' },
  { type: 'open', at: 5_000 },
  { type: 'lost', timer, attempt: 1 },
  ...ends.map((how): Event => ({ type: 'end', how })),
];

describe('nextState', () => {
  it('goes loading → connecting → qr → open → backoff → connecting, keeping the attempt count', () => {
    let state: State | undefined = loading;
    state = nextState(state, { type: 'dial', sock });
    expect(state).toEqual({ kind: 'connecting', sock, attempt: 0 });
    state = nextState(state as State, { type: 'qr' });
    expect(state).toEqual({ kind: 'qr', sock, attempt: 0 });
    state = nextState(state as State, { type: 'qr' }); // the next QR of the same socket
    expect(state).toEqual({ kind: 'qr', sock, attempt: 0 });
    state = nextState(state as State, { type: 'open', at: 7 });
    expect(state).toEqual({ kind: 'open', sock, attempt: 0, openedAt: 7 });
    state = nextState(state as State, { type: 'lost', timer, attempt: 1 });
    expect(state).toEqual({ kind: 'backoff', timer, attempt: 1 });
    state = nextState(state as State, { type: 'dial', sock: other });
    expect(state).toEqual({ kind: 'connecting', sock: other, attempt: 1 });
  });

  it('opens a linked device straight from connecting, and loses a socket before it opened', () => {
    expect(nextState(connecting, { type: 'open', at: 9 })).toEqual({
      kind: 'open',
      sock,
      attempt: 2,
      openedAt: 9,
    });
    expect(nextState(connecting, { type: 'lost', timer, attempt: 3 })).toEqual({
      kind: 'backoff',
      timer,
      attempt: 3,
    });
    expect(nextState(qr, { type: 'lost', timer, attempt: 3 })).toEqual({
      kind: 'backoff',
      timer,
      attempt: 3,
    });
  });

  it.each(ends)('ends (%s) from every live state', (how) => {
    for (const state of [loading, connecting, qr, open, backoff])
      expect(nextState(state, { type: 'end', how })).toEqual({ kind: 'ended', how });
  });

  it.each(ends)('refuses every event once ended (%s): ended is final', (how) => {
    for (const event of events) expect(nextState({ kind: 'ended', how }, event)).toBeUndefined();
  });

  it('refuses what cannot happen: a second socket while one is live, a QR or open without a socket, a loss without one', () => {
    for (const state of [connecting, qr, open])
      expect(nextState(state, { type: 'dial', sock: other })).toBeUndefined();
    for (const state of [loading, backoff]) {
      expect(nextState(state, { type: 'qr' })).toBeUndefined();
      expect(nextState(state, { type: 'open', at: 1 })).toBeUndefined();
      expect(nextState(state, { type: 'lost', timer, attempt: 1 })).toBeUndefined();
    }
    expect(nextState(open, { type: 'qr' })).toBeUndefined();
    expect(nextState(open, { type: 'open', at: 2 })).toBeUndefined();
  });
});

describe('socketOf', () => {
  it('is the socket of connecting, qr and open, and nothing elsewhere', () => {
    expect([connecting, qr, open].map((s) => socketOf(s))).toEqual([sock, sock, sock]);
    expect([loading, backoff, { kind: 'ended', how: 'halted' } as State].map((s) => socketOf(s))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('attemptAtLoss', () => {
  it('keeps counting when a connection is lost before it stayed open for 30 s', () => {
    expect(attemptAtLoss(open, 1_000 + STABLE_OPEN_MS - 1)).toBe(2);
    expect(attemptAtLoss(connecting, 99_999)).toBe(2);
    expect(attemptAtLoss(qr, 99_999)).toBe(2);
  });

  it('starts again from the base once the connection stayed open for 30 s', () => {
    expect(attemptAtLoss(open, 1_000 + STABLE_OPEN_MS)).toBe(0);
  });
});
