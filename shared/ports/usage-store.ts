/** Amounts to add to a tenant's daily counters. */
export interface UsageDelta {
  messagesIn?: number;
  messagesOut?: number;
  aiInputTokens?: number;
  aiOutputTokens?: number;
}

export interface UsageDayRecord {
  /** UTC day, `YYYY-MM-DD`. */
  date: string;
  messagesIn: number;
  messagesOut: number;
  aiInputTokens: number;
  aiOutputTokens: number;
}

/** Daily usage counters per tenant (atomic increments). */
export interface UsageStore {
  /** Adds to the day's counters (creating the day at zero first). Not idempotent: callers count once. */
  add(tenantId: string, date: string, delta: UsageDelta): Promise<void>;
  /** The days from `from` to `to` (inclusive) that have counters, in date order. */
  listDays(tenantId: string, from: string, to: string): Promise<UsageDayRecord[]>;
}

/** The UTC day of an ISO timestamp. */
export const usageDayOf = (isoTimestamp: string): string => isoTimestamp.slice(0, 10);
