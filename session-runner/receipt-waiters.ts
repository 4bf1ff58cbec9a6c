import type { Timers } from './session.ts';

/** What the send path holds while it may still skip its SENT write. */
export interface ExpectedReceipt {
  /** True once the receipt was stored, waiting at most `ms` for it (none when `ms` ≤ 0). */
  within(ms: number): Promise<boolean>;
  /** Stops listening (always called, whatever the send's outcome). */
  cancel(): void;
}

interface Waiter {
  stored: boolean;
  wake?: () => void;
}

/**
 * One session's sends waiting for their delivery or read receipt to be stored. A text whose receipt
 * is stored (DELIVERED or READ, fenced, with the WhatsApp id, claim and sweeper keys cleared)
 * before its SENT write needs no SENT write: the stored status is already further. Listening starts
 * before the send, as the receipt can be stored before `sendMessage` returns.
 */
export class ReceiptWaiters {
  private readonly waiting = new Map<string, Waiter>();

  constructor(private readonly timers: Timers) {}

  /** Listens for the receipt of `waMessageId`; a second expect of the same id replaces the first. */
  expect(waMessageId: string): ExpectedReceipt {
    const waiter: Waiter = { stored: false };
    this.waiting.set(waMessageId, waiter);
    let timer: unknown;
    return {
      within: (ms) => {
        if (waiter.stored || ms <= 0) return Promise.resolve(waiter.stored);
        return new Promise<boolean>((resolve) => {
          timer = this.timers.setTimeout(() => resolve(waiter.stored), ms);
          waiter.wake = () => {
            this.timers.clearTimeout(timer);
            resolve(true);
          };
        });
      },
      cancel: () => {
        if (timer !== undefined) this.timers.clearTimeout(timer);
        if (this.waiting.get(waMessageId) === waiter) this.waiting.delete(waMessageId);
      },
    };
  }

  /** A receipt of `waMessageId` was stored (the status moved to DELIVERED or READ). */
  stored(waMessageId: string): void {
    const waiter = this.waiting.get(waMessageId);
    if (!waiter) return;
    waiter.stored = true;
    waiter.wake?.();
  }
}
