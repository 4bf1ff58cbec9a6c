/**
 * The life cycle of one WhatsApp session as named states (docs/architecture.md, "The session
 * runner's life cycle"). Pure: the session creates sockets and timers and feeds them in as events;
 * this module only says which state follows, and refuses what may not happen (nothing leaves `ended`).
 */

/**
 * `stopped`: on request (stop or logout); `halted`: the lease is gone, nothing more is written;
 * `shutdown`: the runner is going away, the next owner takes over; `closed`: WhatsApp ended it
 * (replaced, logged out, client version refused, QR not scanned).
 */
export type EndedHow = 'stopped' | 'halted' | 'shutdown' | 'closed';

/**
 * `attempt` counts the connections lost in a row (the backoff's exponent); it travels with the
 * socket states so a loss right after an open does not start the backoff from its base again.
 */
export type LifeState<S = unknown, T = unknown> =
  | { kind: 'loading' }
  | { kind: 'connecting'; sock: S; attempt: number }
  | { kind: 'qr'; sock: S; attempt: number }
  | { kind: 'open'; sock: S; attempt: number; openedAt: number }
  | { kind: 'backoff'; timer: T; attempt: number }
  | { kind: 'ended'; how: EndedHow };

export type LifeStateKind = LifeState['kind'];

export type LifeEvent<S = unknown, T = unknown> =
  /** A socket was opened (after loading, or when the retry timer fired). */
  | { type: 'dial'; sock: S }
  | { type: 'qr' }
  | { type: 'open'; at: number }
  /** The socket closed (or went silent) and a retry is scheduled; `attempt` is the new count. */
  | { type: 'lost'; timer: T; attempt: number }
  | { type: 'end'; how: EndedHow };

/** How long a connection must stay open before a loss counts as a first one again. */
export const STABLE_OPEN_MS = 30_000;

/** The state after `event`, or undefined when the event may not happen in `state` (refused). */
export const nextState = <S, T>(
  state: LifeState<S, T>,
  event: LifeEvent<S, T>,
): LifeState<S, T> | undefined => {
  if (state.kind === 'ended') return undefined; // final: a late socket event or a second end changes nothing
  switch (event.type) {
    case 'dial':
      if (state.kind === 'loading') return { kind: 'connecting', sock: event.sock, attempt: 0 };
      if (state.kind === 'backoff') return { kind: 'connecting', sock: event.sock, attempt: state.attempt };
      return undefined;
    case 'qr':
      return state.kind === 'connecting' || state.kind === 'qr'
        ? { kind: 'qr', sock: state.sock, attempt: state.attempt }
        : undefined;
    case 'open':
      return state.kind === 'connecting' || state.kind === 'qr'
        ? { kind: 'open', sock: state.sock, attempt: state.attempt, openedAt: event.at }
        : undefined;
    case 'lost':
      return socketOf(state) === undefined
        ? undefined
        : { kind: 'backoff', timer: event.timer, attempt: event.attempt };
    case 'end':
      return { kind: 'ended', how: event.how };
  }
};

/** The socket the state holds (connecting, qr, open); undefined in the others. */
export const socketOf = <S, T>(state: LifeState<S, T>): S | undefined =>
  state.kind === 'connecting' || state.kind === 'qr' || state.kind === 'open' ? state.sock : undefined;

/**
 * The backoff exponent for a loss now: a connection that stayed open for `STABLE_OPEN_MS` starts
 * again from the base; one lost sooner keeps counting, so a server that drops every connection
 * right after login is not hammered once a second.
 */
export const attemptAtLoss = (state: LifeState, now: number): number => {
  if (state.kind === 'open') return now - state.openedAt >= STABLE_OPEN_MS ? 0 : state.attempt;
  return state.kind === 'connecting' || state.kind === 'qr' || state.kind === 'backoff' ? state.attempt : 0;
};
