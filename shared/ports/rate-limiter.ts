export interface RateDecision {
  allowed: boolean;
  /** Seconds until the next request may pass, when not allowed. */
  retryAfterSeconds: number;
}

/**
 * What a limiter allows per tenant: at most `limit` in each fixed window of `windowSeconds`, or at
 * most `limit` in all when there is no window (a cap, such as the number of sessions).
 */
export interface LimitSpec {
  limit: number;
  windowSeconds?: number;
}

/** Counts a tenant's use of one thing (sends, inits, sessions, AI replies) against its limit. */
export interface RateLimiter {
  /** Counts one use when the limit allows it; otherwise counts nothing and says when to retry. */
  consume(tenantId: string, now: Date): Promise<RateDecision>;
  /** Gives back one use of the current window: an action that was counted but did not happen. */
  release(tenantId: string, now: Date): Promise<void>;
}

/** A cap has no window to wait for: its Retry-After only paces clients that retry anyway. */
export const CAP_RETRY_AFTER_SECONDS = 3600;

/** The window `now` falls in (0 for a cap, which never starts a new one). */
export const windowOf = (spec: LimitSpec, now: Date): number =>
  spec.windowSeconds ? Math.floor(now.getTime() / 1000 / spec.windowSeconds) : 0;

/** Seconds from `now` to the start of the next window, at least 1. */
export const retryAfterOf = (spec: LimitSpec, now: Date): number => {
  if (!spec.windowSeconds) return CAP_RETRY_AFTER_SECONDS;
  const next = (windowOf(spec, now) + 1) * spec.windowSeconds * 1000;
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
};
