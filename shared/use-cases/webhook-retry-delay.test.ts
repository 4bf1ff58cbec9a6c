import { describe, expect, it } from 'vitest';
import { MAX_RETRY_SECONDS, retryDelaySeconds } from './webhook-delivery.ts';

describe('retryDelaySeconds', () => {
  it('starts at 30 s by default and doubles, with up to half of each step as jitter', () => {
    expect([1, 2, 3].map((n) => retryDelaySeconds(n, () => 0))).toEqual([15, 30, 60]);
    expect([1, 2, 3].map((n) => retryDelaySeconds(n, () => 0.999_999))).toEqual([30, 60, 120]);
  });

  it('starts from the configured first delay (WEBHOOK_FIRST_RETRY_SECONDS), never below 1 s', () => {
    expect([1, 2, 3].map((n) => retryDelaySeconds(n, () => 0.999_999, 1))).toEqual([1, 2, 4]);
    expect([1, 2, 3].map((n) => retryDelaySeconds(n, () => 0, 1))).toEqual([1, 1, 2]);
  });

  it('caps a step below the 12 h SQS visibility limit whatever the first delay', () => {
    expect(retryDelaySeconds(40, () => 0.999_999, 1)).toBe(MAX_RETRY_SECONDS);
    expect(retryDelaySeconds(40, () => 0.999_999)).toBe(MAX_RETRY_SECONDS);
  });
});
