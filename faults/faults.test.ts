import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FaultStack, startFaultStack } from './fault-stack.ts';
import { ROWS } from './rows.ts';

// The short version of `npm run faults`: each built row at small size, on one shared fault stack.

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    dynamoEndpoint: inject('dynamoEndpoint'),
    s3Endpoint: inject('fauxqsEndpoint'),
    logDir: mkdtempSync(join(tmpdir(), 'faults-')),
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const row = (key: string) => {
  const found = ROWS.find((r) => r.key === key);
  if (!found) throw new Error(`no row ${key}`);
  return found;
};

describe('fault rows (short)', () => {
  // r4 first: it runs on a runner with the production lease (30 s, so that no lease is lost to a
  // loaded machine rather than to the outages), started for it and replaced by the stack's own
  // after it, which the next rows take over as their runner.
  it('r4: DynamoDB, SQS and S3 each cut under traffic: the API answers 503 with a code, every socket stays up, afterwards nothing is lost or twice', async () => {
    const result = await row('r4').run(stack, 'short', () => undefined);
    expect(result.failures).toEqual([]);
    // Traffic both ways went through each outage (else the row proved nothing).
    expect(result.measured.accepted).toBeGreaterThan(0);
    expect(result.measured.inbound).toBeGreaterThan(0);
    for (const dep of ['sqs', 's3']) expect(result.measured[`${dep}Rounds`]).toBeGreaterThanOrEqual(3);
    expect(result.measured.dynamodbRounds).toBeGreaterThan(0);
  }, 150_000);

  it('r1: a runner killed with -9 mid-traffic loses nothing, duplicates nothing, needs no new QR, and receipts still arrive', async () => {
    const result = await row('r1').run(stack, 'short', () => undefined);
    expect(result.failures).toEqual([]);
    expect(result.measured.outbound).toBeGreaterThan(0);
  }, 120_000);

  it('r3: whole FIFO groups with a 1 s visibility during a burst: every message once, each session in order', async () => {
    const result = await row('r3').run(stack, 'short', () => undefined);
    expect(result.failures).toEqual([]);
    expect(result.measured.redelivered).toBeGreaterThan(0);
  }, 150_000);
  it('r2: a rolling deploy replaces no device; a runner frozen past its lease and resumed causes no ping-pong and its late writes are refused', async () => {
    const result = await row('r2').run(stack, 'short', () => undefined);
    expect(result.failures).toEqual([]);
    expect(result.measured.sessions).toBe(2);
  }, 120_000);

  it('r5: each disconnect code gets its documented action; reconnects are spaced by the backoff and bounded', async () => {
    const result = await row('r5').run(stack, 'short', () => undefined);
    expect(result.failures).toEqual([]);
    expect(result.measured.codes).toBe(8);
  }, 120_000);

  it('r6: a takeover whose listing fails and whose lease call hangs still brings every session back within 60 s; /healthz 503 meanwhile', async () => {
    const result = await row('r6').run(stack, 'short', () => undefined);
    expect(result.failures).toEqual([]);
    expect(result.measured.listingFailures).toBeGreaterThan(0);
  }, 120_000);
});
