import { delayCancellable, promiseTimeout } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';

// Baileys (patched) captures a stack for every query's timeout but formats it only when it is read:
// the runner runs with --enable-source-maps, where each formatting maps every frame, and every
// query made two (its own and its wait's), on every send.

const original = Error.prepareStackTrace;
afterEach(() => {
  Error.prepareStackTrace = original;
});

/** Counts stack formattings from now on (V8 calls `Error.prepareStackTrace` for each one). */
const countFormattings = () => {
  const counter = { count: 0 };
  Error.prepareStackTrace = (error, frames) => {
    counter.count += 1;
    return [String(error), ...frames.map((f) => `    at ${f}`)].join('\n');
  };
  return counter;
};

describe('Baileys query timeouts (patched)', () => {
  it('format no stack for a query answered in time', async () => {
    const formatted = countFormattings();
    const answer = await promiseTimeout<string>(5_000, (resolve) => resolve('answer'));
    expect(answer).toBe('answer');
    expect(formatted.count).toBe(0);
  });

  it("still give a timed-out query's error the stack of the caller that started it", async () => {
    const formatted = countFormattings();
    const startQuery = () => promiseTimeout(5, () => undefined);
    const error = await startQuery().catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'Timed Out', output: { statusCode: 408 } });
    expect((error as { data: { stack: string } }).data.stack).toMatch(/at .*startQuery/);
    expect(formatted.count).toBeGreaterThan(0);
  });

  it("still give a cancelled delay's error its stack, formatted when read", async () => {
    const formatted = countFormattings();
    const { delay, cancel } = delayCancellable(5_000);
    cancel();
    const error = (await delay.catch((e: unknown) => e)) as { message: string; data: { stack: string } };
    expect(error.message).toBe('Cancelled');
    const before = formatted.count;
    expect(error.data.stack).toMatch(/^Error\n\s+at /);
    expect(formatted.count).toBe(before + 1);
  });
});
