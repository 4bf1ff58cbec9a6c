import { MessageReceived } from '#shared/contracts/incoming.ts';
import type { ObjectStore } from '#shared/ports/object-store.ts';

// Incoming messages SQS did not take wait in the auth-state bucket, one object per message:
// `spool/<sessionId>/<ms>-<counter>-<runner nonce>.json`. Zero-padded, so that a listing is in
// arrival order (across runners too, up to clock skew): draining in key order keeps per-chat order.

/** Where every session's spool lives (`spool/<sessionId>/...`). */
export const SPOOL_ROOT = 'spool/';

export const spoolPrefix = (sessionId: string): string => `${SPOOL_ROOT}${sessionId}/`;

/** The spool of the incoming messages of every session, in an object store. */
export class IncomingSpool {
  private lastMs = 0;
  private counter = 0;

  constructor(
    private readonly objects: ObjectStore,
    /** Tells apart two runners spooling in the same millisecond. */
    private readonly nonce: string,
    private readonly now: () => number,
  ) {}

  /** Stores one message; resolves once it is durable. */
  async put(message: MessageReceived): Promise<string> {
    // Never backwards, even if the wall clock is: the order key must grow within this process.
    const ms = Math.max(this.now(), this.lastMs);
    this.counter = ms === this.lastMs ? this.counter + 1 : 0;
    this.lastMs = ms;
    const key = `${spoolPrefix(message.sessionId)}${String(ms).padStart(15, '0')}-${String(this.counter).padStart(8, '0')}-${this.nonce}.json`;
    await this.objects.put(key, Buffer.from(JSON.stringify(message)));
    return key;
  }

  /** The spooled keys of a session, oldest first. */
  list(sessionId: string): Promise<string[]> {
    return this.objects.list(spoolPrefix(sessionId));
  }

  /** A spooled message; undefined when it is gone (drained meanwhile), or 'invalid' when unreadable. */
  async read(key: string): Promise<MessageReceived | 'invalid' | undefined> {
    const bytes = await this.objects.get(key);
    if (!bytes) return undefined;
    try {
      return MessageReceived.parse(JSON.parse(bytes.toString('utf8')));
    } catch {
      return 'invalid';
    }
  }

  remove(key: string): Promise<void> {
    return this.objects.delete([key]);
  }
}
