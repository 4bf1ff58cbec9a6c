import type { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import { signWebhook } from '../domain/webhook-signature.ts';
import { vetWebhookUrl, type WebhookUrlOptions } from '../domain/webhook-url-policy.ts';
import type { AddressResolver } from '../ports/address-resolver.ts';
import type { Clock } from '../ports/clock.ts';
import type { WebhookSender } from '../ports/webhook-delivery.ts';
import type { AttemptOutcome, DeliveryLog, WebhookEndpointStore } from '../ports/webhook-store.ts';

/** The ports of one delivery attempt. */
export interface DeliveryDeps {
  endpoints: Pick<WebhookEndpointStore, 'get'>;
  deliveries: Pick<DeliveryLog, 'get' | 'recordAttempt' | 'pendingBefore'>;
  resolver: AddressResolver;
  sender: WebhookSender;
  clock: Clock;
  urlOptions: WebhookUrlOptions;
  /** A number in [0, 1) for the backoff jitter (injected so tests can pin it). */
  random?: () => number;
  /** The first retry delay, doubled on each attempt: BASE_RETRY_SECONDS unless set (tests shorten it). */
  firstRetrySeconds?: number;
  /** How long after it happened an event is held before it is sent (`deliverInOrder`); 0 unless set. */
  settleMs?: number;
  /** Waits that long (injected so tests run the settle window on a fake clock). */
  sleep?: (ms: number) => Promise<void>;
}

/** The settle window's default (WEBHOOK_SETTLE_MS): table streams hand a change over within about a second. */
export const DEFAULT_SETTLE_MS = 2_000;
/** Older pending deliveries read per query (more are read page after page). */
const OLDER_PAGE = 10;

/** How long one attempt may take, answer included. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Retries go on for at least this long after the first attempt, then the delivery is `failed`. */
export const RETRY_WINDOW_MS = 24 * 3_600_000;
/** First retry delay (the default of WEBHOOK_FIRST_RETRY_SECONDS); doubled on each attempt. */
export const BASE_RETRY_SECONDS = 30;
/**
 * Longest step: SQS caps a message's visibility at 12 h from its receive, and this attempt has
 * already used a little of that.
 */
export const MAX_RETRY_SECONDS = 12 * 3_600 - 300;
/**
 * A job older than this is given up after its next failed attempt, whatever its own window: it must
 * end (as `failed`, visibly) before the queue's retention would drop it silently.
 */
export const MAX_JOB_AGE_MS = 12 * 86_400_000;

export type DeliveryResult =
  | { outcome: 'delivered'; attempts: number; status: number }
  | { outcome: 'retry'; attempts: number; retryInSeconds: number; reason: string }
  | { outcome: 'failed'; attempts: number; reason: string }
  /** Nothing to do: the endpoint was deleted, or the delivery is already final (a redelivered job). */
  | { outcome: 'skipped'; reason: 'endpoint-deleted' | 'already-final' };

/**
 * The delay before attempt `attempts + 1`: exponential (30 s, 1 min, 2 min, … capped at ~12 h) with
 * "equal jitter" (half fixed, half random), so endpoints that failed together do not retry together.
 */
export const retryDelaySeconds = (
  attempts: number,
  random: () => number = Math.random,
  firstRetrySeconds: number = BASE_RETRY_SECONDS,
): number => {
  const ceiling = Math.min(firstRetrySeconds * 2 ** Math.max(attempts - 1, 0), MAX_RETRY_SECONDS);
  return Math.max(1, Math.round(ceiling / 2 + random() * (ceiling / 2)));
};

/**
 * One attempt of one job: re-checks the URL (DNS resolved once, the connection pinned to the
 * checked address, so a name that now resolves to a private address is refused), signs per
 * Standard Webhooks with the event id as `webhook-id`, POSTs with a 10 s bound, and records the
 * attempt. A non-2xx answer, no answer or a refused URL is retried with backoff for at least
 * 24 h after the first attempt, then the delivery is `failed`. The response body is never read.
 */
export const deliverWebhook = async (
  deps: DeliveryDeps,
  job: WebhookDeliveryJob,
): Promise<DeliveryResult> => {
  const endpoint = await deps.endpoints.get(job.webhookId);
  if (!endpoint || endpoint.tenantId !== job.tenantId)
    return { outcome: 'skipped', reason: 'endpoint-deleted' };
  const known = await deps.deliveries.get(job.webhookId, job.eventId);
  if (known && known.state !== 'pending') return { outcome: 'skipped', reason: 'already-final' };

  const started = deps.clock.now();
  const vetted = await vetWebhookUrl(endpoint.url, deps.resolver, deps.urlOptions);
  let outcome: Omit<AttemptOutcome, 'state' | 'now'> & { ok: boolean };
  if (!vetted.ok) {
    outcome = { ok: false, lastError: `refused: ${vetted.reason}` };
  } else {
    const body = JSON.stringify(job.envelope);
    const response = await deps.sender.send({
      url: vetted.url,
      address: vetted.address,
      headers: signWebhook(endpoint.secret, job.eventId, started, body),
      body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
    });
    outcome =
      'status' in response
        ? { ok: response.status >= 200 && response.status < 300, lastStatus: response.status }
        : { ok: false, lastError: response.error };
  }

  const now = deps.clock.now();
  const delivery = {
    webhookId: job.webhookId,
    eventId: job.eventId,
    type: job.envelope.type,
    createdAt: job.envelope.timestamp,
  };
  const { ok, ...detail } = outcome;
  if (ok) {
    const record = await deps.deliveries.recordAttempt(delivery, {
      ...detail,
      state: 'delivered',
      now: now.toISOString(),
    });
    return { outcome: 'delivered', attempts: record.attempts, status: detail.lastStatus ?? 0 };
  }
  const reason = detail.lastError ?? `answered ${detail.lastStatus}`;
  const firstAttemptAt = known?.firstAttemptAt ? Date.parse(known.firstAttemptAt) : started.getTime();
  const giveUp =
    now.getTime() - firstAttemptAt >= RETRY_WINDOW_MS ||
    now.getTime() - Date.parse(job.enqueuedAt) >= MAX_JOB_AGE_MS;
  const record = await deps.deliveries.recordAttempt(delivery, {
    ...detail,
    state: giveUp ? 'failed' : 'pending',
    now: now.toISOString(),
  });
  if (record.state === 'delivered') return { outcome: 'skipped', reason: 'already-final' };
  if (giveUp || record.state === 'failed') return { outcome: 'failed', attempts: record.attempts, reason };
  return {
    outcome: 'retry',
    attempts: record.attempts,
    retryInSeconds: retryDelaySeconds(record.attempts, deps.random, deps.firstRetrySeconds),
    reason,
  };
};

export type OrderedDeliveryResult =
  /** `heldBy`: an older event of the group that must be retried first (the job waits with it). */
  | (DeliveryResult & { heldBy?: string })
  /** The worker has no time left for another attempt: the job comes again later, untried. */
  | { outcome: 'no-time' };

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Delivers a job in its group's order (one group per endpoint and session): first holds it until
 * `settleMs` after its event happened (at most `settleMs` from now, whatever the writer's clock
 * said), so that an older event of the session handed over late by another stream is recorded by
 * then; then delivers every older pending delivery of the group, oldest first, from its stored
 * job; then this job. An older one that must be retried holds this job back with it (`heldBy`).
 * `canAttempt` is asked before each attempt (the worker's time left); `onOlder` hears the outcome
 * of each older delivery (to log it as its own job's would be).
 */
export const deliverInOrder = async (
  deps: DeliveryDeps,
  job: WebhookDeliveryJob,
  hooks: {
    canAttempt?: () => boolean;
    onOlder?: (older: WebhookDeliveryJob, result: DeliveryResult) => void;
  } = {},
): Promise<OrderedDeliveryResult> => {
  const canAttempt = hooks.canAttempt ?? (() => true);
  const settleMs = deps.settleMs ?? 0;
  const happened = Date.parse(job.envelope.timestamp);
  const wait = Math.min(happened + settleMs - deps.clock.now().getTime(), settleMs);
  if (wait > 0) await (deps.sleep ?? defaultSleep)(wait);

  const tried = new Set<string>([job.eventId]);
  for (;;) {
    const page = await deps.deliveries.pendingBefore(
      job.webhookId,
      job.sessionId,
      job.envelope.timestamp,
      OLDER_PAGE,
    );
    // The index may still list one made final a moment ago: each is tried once per job.
    const older = page.filter((o) => !tried.has(o.eventId) && o.tenantId === job.tenantId);
    for (const earlier of older) {
      tried.add(earlier.eventId);
      if (!canAttempt()) return { outcome: 'no-time' };
      const result = await deliverWebhook(deps, earlier);
      hooks.onOlder?.(earlier, result);
      if (result.outcome === 'retry') return { ...result, heldBy: earlier.eventId };
      if (result.outcome === 'skipped' && result.reason === 'endpoint-deleted') return result;
    }
    // Until a page brings nothing new (a page may come back short of the limit with more behind it:
    // the store leaves out deliveries it finds final).
    if (older.length === 0) break;
  }
  if (!canAttempt()) return { outcome: 'no-time' };
  return deliverWebhook(deps, job);
};
