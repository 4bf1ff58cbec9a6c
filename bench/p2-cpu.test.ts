import { describe, expect, it } from 'vitest';
import { mergeWindows, netCpuPerMessage } from './p2-cpu.ts';

describe('p2 CPU per message', () => {
  it('takes off the mean of the idle rates before and after the window, over the window', () => {
    // 10 s window, idle 0.02 before and 0.04 after: 300 ms idle off 1 300 ms gross, 20 messages.
    const r = netCpuPerMessage({
      grossMs: 1300,
      wallMs: 10_000,
      idleBefore: 0.02,
      idleAfter: 0.04,
      messages: 20,
    });
    expect(r).toEqual({ perMessage: 50, grossPerMessage: 65, idleMsPerSecond: 30, wallSeconds: 10 });
  });

  it('refuses a window whose idle estimate swamps the work instead of reporting 0 (a pass)', () => {
    expect(() =>
      netCpuPerMessage({ grossMs: 400, wallMs: 10_000, idleBefore: 0.05, idleAfter: 0.03, messages: 30 }),
    ).toThrow(/idle CPU \(400 ms\) swamped the work's \(400 ms\)/);
  });
});

describe('p2 rounds merged', () => {
  it('nets each round with its own idle rates and sums them', () => {
    // Round 1: 1 000 ms gross, 10 s at 0.01 idle (100 off); round 2: 500 ms gross, 2 s at 0.05 (100 off).
    const merged = mergeWindows([
      { grossMs: 1000, wallMs: 10_000, idleBefore: 0, idleAfter: 0.02, messages: 20 },
      { grossMs: 500, wallMs: 2_000, idleBefore: 0.04, idleAfter: 0.06, messages: 20 },
    ]);
    expect(merged).toMatchObject({ grossMs: 1500, wallMs: 12_000, messages: 40 });
    // (900 + 400) ms net over 40 messages.
    expect(netCpuPerMessage(merged).perMessage).toBe(32.5);
  });
});
