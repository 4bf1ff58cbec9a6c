import { allConnected, type Linked, sleep, waitFor } from '../drive.ts';
import type { FaultStack } from '../fault-stack.ts';
import { type RowResult, row } from '../row.ts';
import { currentRunner } from './r1-kill-runner.ts';

export interface R5Size {
  /** How many times in a row a session that backs off is thrown out again as soon as it logs in. */
  repeats: number;
}

type Code = 515 | 408 | 428 | 503 | 440 | 401 | 403 | 405;

/** The documented action per code (docs/architecture.md "The session runner's life cycle"; session-runner/reconnect-policy.ts). */
const EXPECTED: Record<Code, { action: 'at once' | 'backoff' | 'stop' | 'logout'; lastError?: string }> = {
  515: { action: 'at once' },
  408: { action: 'backoff' },
  428: { action: 'backoff' },
  503: { action: 'backoff' },
  440: { action: 'stop', lastError: 'CONNECTION_REPLACED' },
  405: { action: 'stop', lastError: 'CLIENT_VERSION_REJECTED' },
  401: { action: 'logout', lastError: 'LOGGED_OUT' },
  403: { action: 'logout', lastError: 'FORBIDDEN' },
};
const CODES = Object.keys(EXPECTED).map(Number) as Code[];

/** Reconnect backoff of the runner: base 1 s, jitter down to half of it (session-runner/runner.ts). */
const MIN_BACKOFF_MS = 500;
/** How often the scenario looks at the simulator's login count (a login is thrown out this late at most). */
const POLL_MS = 40;
/** A session that was told to stop must not log in again for at least this long. */
const QUIET_MS = 3_000;

/**
 * Watches one phone's device at the simulator: the instants it logged in (the simulator counts
 * logins and stamps the last one, so a login is not missed when this process stalls past the
 * backoff between two polls), and, while `repeat` says so, ends each new login at once with `code`
 * again.
 */
const watchLogins = (stack: FaultStack, phone: string) => {
  const logins: number[] = [];
  let repeat: (() => Code | undefined) | undefined;
  const device = () => stack.sim.stats().devices.find((d) => d.jid.startsWith(phone));
  let seen = device()?.logins ?? 0; // linked and connected when watching starts
  let running = true;
  const loop = (async () => {
    while (running) {
      const now = device();
      if (now && now.logins > seen) {
        seen = now.logins;
        logins.push(now.lastLoginAt ?? Date.now());
        const code = repeat?.();
        if (code !== undefined) stack.sim.disconnect(phone, code as never);
      }
      await sleep(POLL_MS);
    }
  })();
  return {
    logins,
    repeatWith: (fn: (() => Code | undefined) | undefined) => {
      repeat = fn;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
};

/** Runs of this row in one process: each links sessions of its own (a retried test runs it again). */
let runs = 0;

/** Links `count` sessions side by side (linkSessions goes one by one; 8 of them took 30 s under load). */
const linkAtOnce = async (stack: FaultStack, tag: string, count: number, base: number): Promise<Linked[]> => {
  const linked = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const init = await stack.call('POST', '/init', { chatbotId: `${tag}-${i}` });
      if (init.status >= 300) throw new Error(`init answered ${init.status}: ${JSON.stringify(init.body)}`);
      const sessionId = init.body.sessionId as string;
      const qr = await waitFor(`a QR for ${tag}-${i}`, async () => (await stack.sessions.get(sessionId))?.qr);
      const phone = String(base + i);
      await stack.sim.scanQr(phone, qr);
      return { sessionId, phone, contact: String(base + 500_000 + i) };
    }),
  );
  await allConnected(stack, linked, 120_000);
  return linked;
};

/**
 * r5: each disconnect code the simulator can send, on a linked session of its own, all at once.
 * Measured at the simulator: the logins that follow. 515 reconnects at once; 408 / 428 / 503 back
 * off (each session thrown out again as soon as it logs in, `repeats` times): every pause between
 * two logins at least the backoff's floor and the pauses doubling, so the attempts are spaced and
 * bounded, and in the end the session is CONNECTED without a new QR; 440 and 405 stop
 * (DISCONNECTED with the reason), 401 and 403 log out (LOGGED_OUT with the reason; that the auth
 * state is deleted is checked by session-runner/disconnects.test.ts); none of these four logs in
 * again.
 */
export const r5DisconnectCodes = async (
  stack: FaultStack,
  size: R5Size,
  progress: (line: string) => void,
): Promise<RowResult> =>
  row('r5', 'each disconnect code from the simulator', async (check, measured) => {
    await currentRunner(stack);
    // A retry links fresh sessions: the first run's are still CONNECTED (init would answer 409).
    const run = runs++;
    const linked = await linkAtOnce(
      stack,
      run ? `r5r${run}` : 'r5',
      CODES.length,
      4915350000000 + run * 1000,
    );
    progress(`r5: ${linked.length} sessions linked, one per code`);
    const results = await Promise.all(
      CODES.map(async (code, i) => {
        const l = linked[i] as Linked;
        const before = (await stack.sessions.get(l.sessionId))?.connectedAt ?? '';
        const watch = watchLogins(stack, l.phone);
        const expected = EXPECTED[code];
        let thrownOut = 0;
        if (expected.action === 'backoff')
          watch.repeatWith(() => (thrownOut++ < size.repeats ? code : undefined));
        const at = Date.now();
        stack.sim.disconnect(l.phone, code as never);
        try {
          if (expected.action === 'at once' || expected.action === 'backoff') {
            const record = await waitFor(
              `${code}: CONNECTED again`,
              async () => {
                const s = await stack.sessions.get(l.sessionId);
                return (
                  s?.status === 'CONNECTED' &&
                  (s.connectedAt ?? '') > before &&
                  watch.logins.length > (expected.action === 'backoff' ? size.repeats : 0) &&
                  s
                );
              },
              60_000,
            );
            check(!record.qr, `${code}: a new QR was needed`);
          } else {
            const status = expected.action === 'logout' ? 'LOGGED_OUT' : 'DISCONNECTED';
            const record = await waitFor(`${code}: ${status}`, async () => {
              const s = await stack.sessions.get(l.sessionId);
              return s?.status === status && s;
            });
            check(
              record.lastError === expected.lastError,
              `${code}: lastError ${record.lastError}, expected ${expected.lastError}`,
            );
            await sleep(QUIET_MS);
          }
        } catch (error) {
          check(false, (error as Error).message);
        } finally {
          await watch.stop();
        }
        const times = [at, ...watch.logins];
        const gaps = times.slice(1).map((t, k) => t - (times[k] as number));
        return { code, expected, gaps, attempts: watch.logins.length };
      }),
    );
    for (const { code, expected, gaps, attempts } of results) {
      measured[`${code}`] =
        `${expected.action}: ${attempts} login(s)${gaps.length ? `, gaps ${gaps.map((g) => (g / 1000).toFixed(1)).join('/')} s` : ''}`;
      if (expected.action === 'stop' || expected.action === 'logout')
        check(attempts === 0, `${code}: ${attempts} login(s) after it (expected ${expected.action}, none)`);
      if (expected.action === 'at once') {
        check(attempts === 1, `${code}: ${attempts} login(s), expected one reconnect`);
        // At once: no backoff pause (the handshake alone, generous for a loaded machine).
        check((gaps[0] ?? Infinity) < 5_000, `${code}: reconnected after ${gaps[0]} ms, expected at once`);
      }
      if (expected.action === 'backoff') {
        // Thrown out `repeats` times, then let in: exactly one login more than that, no storm.
        check(
          attempts === size.repeats + 1,
          `${code}: ${attempts} login(s) for ${size.repeats} repeats (expected ${size.repeats + 1})`,
        );
        const tooSoon = gaps.filter((g) => g < MIN_BACKOFF_MS - POLL_MS);
        check(tooSoon.length === 0, `${code}: reconnected after ${tooSoon.join(', ')} ms, below the backoff`);
        // The pauses grow: the n-th is at least the floor doubled n-1 times, whatever the jitter,
        // also when each connection was ended right after it opened (no reset to the base).
        const floor = MIN_BACKOFF_MS * 2 ** (gaps.length - 1) - POLL_MS;
        const last = gaps.at(-1) ?? 0;
        check(last >= floor, `${code}: pauses ${gaps.join('/')} ms do not grow (last under ${floor} ms)`);
      }
    }
    measured.codes = CODES.length;
  });
