import type { FaultStack, RunnerProcess } from './fault-stack.ts';

/** How often `waitFor` looks again: a poll interval, never a wait of its own. */
const POLL_MS = 150;
/** How soon `sendAccepted` asks again after a 409/429/503 (a tenant's retry). */
const SEND_RETRY_MS = 250;

/** Polls `check` until it returns a value (not undefined/false), or throws naming `what`. */
export const waitFor = async <T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
};

/** Resolves after `ms`: for poll intervals and a scenario's named time windows, not to wait for a condition. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the runner's `/healthz` answers 200: the health check ECS waits for before it stops
 * the old task of a rolling deploy (a runner holding no shard yet, waiting for the lease, is healthy).
 */
export const healthy = (runner: RunnerProcess, timeoutMs = 60_000) =>
  waitFor(
    `${runner.healthUrl} to answer 200`,
    async () =>
      (await fetch(runner.healthUrl, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.status)
        .catch(() => 0)) === 200,
    timeoutMs,
  );

/** A linked session of the scenarios: its id, the phone it is linked to, and a contact that chats with it. */
export interface Linked {
  sessionId: string;
  phone: string;
  contact: string;
}

/** Links `count` sessions (init, QR, the phone scans) and waits until each is CONNECTED. */
export const linkSessions = async (stack: FaultStack, tag: string, count: number, base: number) => {
  const linked: Linked[] = [];
  for (let i = 0; i < count; i++) {
    const init = await stack.call('POST', '/init', { chatbotId: `${tag}-${i}` });
    if (init.status >= 300) throw new Error(`init answered ${init.status}: ${JSON.stringify(init.body)}`);
    const sessionId = init.body.sessionId as string;
    const qr = await waitFor(`a QR for ${tag}-${i}`, async () => (await stack.sessions.get(sessionId))?.qr);
    const phone = String(base + i);
    await stack.sim.scanQr(phone, qr);
    linked.push({ sessionId, phone, contact: String(base + 500_000 + i) });
  }
  await allConnected(stack, linked, 120_000);
  return linked;
};

/** The status the tenant API reports (derived: a session whose runner is gone is not CONNECTED). */
export const apiStatus = async (stack: FaultStack, l: Linked) =>
  (await stack.call('GET', `/status/${l.sessionId}`)).body as { status?: string; lastError?: string };

/**
 * Waits until the tenant API reports every session CONNECTED, written by a runner whose fence is
 * above `afterFence` (so a runner that took over, not the one that just died) and, with
 * `connectedAfter` (ISO time), by a login after that time: a taking-over runner stamps its fence on
 * the record, still CONNECTED, before its own socket is up.
 */
export const allConnected = (
  stack: FaultStack,
  linked: Linked[],
  timeoutMs = 60_000,
  afterFence = 0,
  connectedAfter = '',
) =>
  waitFor(
    'every session CONNECTED',
    async () => {
      const all = await Promise.all(linked.map((l) => apiStatus(stack, l)));
      const stored = await Promise.all(linked.map((l) => stack.sessions.get(l.sessionId)));
      return (
        all.every((s) => s.status === 'CONNECTED') &&
        stored.every((s) => (s?.fence ?? 0) > afterFence && (s?.connectedAt ?? '') > connectedAfter)
      );
    },
    timeoutMs,
  );

/** The highest fence any of the sessions carries now. */
export const fenceOf = async (stack: FaultStack, linked: Linked[]) =>
  Math.max(
    0,
    ...(await Promise.all(linked.map(async (l) => (await stack.sessions.get(l.sessionId))?.fence ?? 0))),
  );

/**
 * Sends through the tenant API until it is accepted (202): a 409 while the session is between
 * runners or a 503 while a dependency is down is the API telling the tenant to retry.
 */
export const sendAccepted = async (stack: FaultStack, l: Linked, text: string, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await stack.call('POST', '/send', { sessionId: l.sessionId, to: l.contact, message: text });
    if (res.status === 202) return res.body.messageId as string;
    if (![409, 429, 503].includes(res.status) || Date.now() > deadline)
      throw new Error(`send answered ${res.status}: ${JSON.stringify(res.body)}`);
    await sleep(SEND_RETRY_MS);
  }
};

/** Texts that a contact shows more than once (under different WhatsApp ids). */
export const duplicateTexts = (texts: string[]) => {
  const seen = new Map<string, number>();
  for (const t of texts) seen.set(t, (seen.get(t) ?? 0) + 1);
  return [...seen.entries()].filter(([, n]) => n > 1).map(([t]) => t);
};

/** Runs `task` for each item with at most `limit` at a time. */
export const pool = async <T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i] as T);
      }
    }),
  );
  return results;
};

/**
 * The statuses of the given messages that are not SENT, DELIVERED or READ once storage settled
 * (the SENT write follows the delivery), waiting up to `timeoutMs` for them to get there.
 */
export const unsentAfterSettling = async (stack: FaultStack, messageIds: string[], timeoutMs = 30_000) => {
  // A few reads at a time, and a settled message is not read again: DynamoDB Local is the runners'
  // too, and hundreds of parallel reads starve their lease calls.
  const settled = new Set<string>();
  const unsent = async () => {
    const left = messageIds.filter((id) => !settled.has(id));
    const statuses = await pool(left, 8, async (id) => (await stack.messages.get(id))?.status ?? 'missing');
    for (const [i, id] of left.entries())
      if (['SENT', 'DELIVERED', 'READ'].includes(statuses[i] ?? '')) settled.add(id);
    return statuses.filter((s) => !['SENT', 'DELIVERED', 'READ'].includes(s));
  };
  return waitFor(
    'every message SENT in storage',
    async () => {
      const left = await unsent();
      return left.length === 0 && left;
    },
    timeoutMs,
  ).catch(unsent);
};

/** `text (STATUS error)` of each message, for failure lines that say what storage shows. */
export const describeStored = async (stack: FaultStack, items: { text: string; messageId: string }[]) =>
  Promise.all(
    items.map(async (o) => {
      const m = await stack.messages.get(o.messageId);
      return `${o.text} (${m?.status ?? 'missing'}${m?.error ? ` ${m.error}` : ''})`;
    }),
  );
