import type { MessageStore } from '../ports/message-store.ts';

/** The ports a receipt is recorded with: the message store and a pause (injected timers). */
export interface ReceiptDeps {
  messages: Pick<MessageStore, 'findIdByWaMessageId' | 'updateStatus'>;
  sleep: (ms: number) => Promise<void>;
}

/** A delivery or read receipt WhatsApp sent for a message of the session. */
export interface Receipt {
  sessionId: string;
  waMessageId: string;
  status: 'DELIVERED' | 'READ';
  /** The writer's lease fence: refused once a newer owner wrote the message. */
  fence: number;
  now: () => string;
}

/**
 * `stored`: the status moved. `unchanged`: refused (already there or further, another session's,
 * a newer fence). `unknown`: no message of the session under that WhatsApp id, after the waits.
 */
export type ReceiptOutcome = 'stored' | 'unchanged' | 'unknown';

/**
 * The waits before looking the WhatsApp id up again (about 2 s in all): the index that finds a
 * message by it (gsi3) is eventually consistent, so a receipt can arrive at a new owner before the
 * claim the old one wrote is findable; a dropped receipt never comes again.
 */
export const RECEIPT_LOOKUP_WAITS_MS: readonly number[] = [250, 500, 1_000];

/**
 * Records a receipt on the session's message, forward only and fenced. An id not found is looked
 * up again after each of `lookupWaitsMs` (none for an id that cannot be ours) before it is an
 * answer. Store errors are thrown: the caller decides on retries and on WhatsApp's ack.
 */
export const recordReceipt = async (
  deps: ReceiptDeps,
  receipt: Receipt,
  lookupWaitsMs: readonly number[] = RECEIPT_LOOKUP_WAITS_MS,
): Promise<ReceiptOutcome> => {
  const { sessionId, waMessageId } = receipt;
  let messageId = await deps.messages.findIdByWaMessageId(sessionId, waMessageId);
  for (const wait of lookupWaitsMs) {
    if (messageId) break;
    await deps.sleep(wait);
    messageId = await deps.messages.findIdByWaMessageId(sessionId, waMessageId);
  }
  if (!messageId) return 'unknown';
  // The id alone: the write itself refuses another session's message or a newer fence's.
  const updated = await deps.messages.updateStatus(messageId, {
    status: receipt.status,
    // A receipt can overtake the SENT write: the WhatsApp id is stored either way.
    waMessageId,
    fence: receipt.fence,
    sessionId,
    now: receipt.now(),
  });
  return updated ? 'stored' : 'unchanged';
};
