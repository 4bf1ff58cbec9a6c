export interface RateDecision {
  allowed: boolean;
  /** Seconds until the next request may pass, when not allowed. */
  retryAfterSeconds: number;
}

/** Counts requests per tenant in fixed one-minute windows. */
export interface RateLimiter {
  consume(tenantId: string, now: Date): Promise<RateDecision>;
}
