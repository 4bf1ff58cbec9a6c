/** What a session does after its socket closed, by the disconnect code (docs/architecture.md, "Disconnects"). */
export type CloseAction =
  | { kind: 'reconnect'; delayMs: number; lastError?: string }
  | { kind: 'stop'; lastError: string }
  | { kind: 'logout'; lastError: string };

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

/**
 * How many 515s in a row reconnect at once: WhatsApp sends one after pairing (and now and then to
 * move a client); a server that answers every login with 515 gets the normal backoff after these.
 */
export const IMMEDIATE_RESTARTS = 1;

/**
 * 515 restart → at once (the first `IMMEDIATE_RESTARTS` in a row, then backoff); 408 / 428 / 500 / 503 (and unknown codes) → exponential backoff with
 * jitter and a cap; 440 replaced → stop; 401 / 403 → logged out; 405 → stop (client version refused);
 * 408 before the device was ever linked is the QR running out → stop with QR_TIMEOUT. A socket that
 * never heard from the server (no network, DNS, refused) is CONNECT_FAILED whatever Baileys calls it
 * (it maps ENOTFOUND and the like to 408): backoff, never QR_TIMEOUT.
 */
export const closeAction = (
  code: number | undefined,
  linked: boolean,
  attempt: number,
  backoff: BackoffOptions,
  reachedServer = true,
  /** The 515s in a row, this one included (a stable connection starts the count again). */
  restartsInRow = 1,
): CloseAction => {
  if (!reachedServer) return { ...backoffAction(attempt, backoff), lastError: 'CONNECT_FAILED' };
  switch (code) {
    case 515:
      if (restartsInRow <= IMMEDIATE_RESTARTS) return { kind: 'reconnect', delayMs: 0 };
      break;
    case 440:
      return { kind: 'stop', lastError: 'CONNECTION_REPLACED' };
    case 401:
      return { kind: 'logout', lastError: 'LOGGED_OUT' };
    case 403:
      return { kind: 'logout', lastError: 'FORBIDDEN' };
    case 405:
      return { kind: 'stop', lastError: 'CLIENT_VERSION_REJECTED' };
    case 408:
      if (!linked) return { kind: 'stop', lastError: 'QR_TIMEOUT' };
      break;
  }
  return backoffAction(attempt, backoff);
};

const backoffAction = (attempt: number, backoff: BackoffOptions): CloseAction => {
  const random = backoff.random ?? Math.random;
  const exponential = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(attempt, 16));
  return { kind: 'reconnect', delayMs: Math.round(exponential * (0.5 + random() / 2)) };
};
