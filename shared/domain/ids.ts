import { createHash, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

/**
 * A UUID (v5 layout) derived from a name: the same inputs always give the same id, so a retried
 * operation (an idempotent reply, a redelivered command) produces the same record and not a second one.
 */
export const deriveId = (...parts: string[]): string => {
  const hash = createHash('sha256').update(parts.join('\u0000')).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** Stable SHA-256 of an API key: keys are stored and looked up only by this hash. */
export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey).digest('hex');

/** The shard a session belongs to, fixed at init from its id. */
export const shardOf = (sessionId: string, shardCount: number): number =>
  createHash('sha256').update(sessionId).digest().readUInt32BE(0) % shardCount;
