import type { IdempotencyRecord } from '../domain/entities.ts';

export interface IdempotencyStore {
  /** The live record for the key (expired ones count as absent). */
  get(tenantId: string, key: string, now: Date): Promise<IdempotencyRecord | undefined>;
  /** Claims the key for this request; false when a live record exists already. */
  claim(record: IdempotencyRecord, now: Date): Promise<boolean>;
  release(tenantId: string, key: string): Promise<void>;
}
