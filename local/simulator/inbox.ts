import type { ReceivedFile } from './media-crypto.ts';

/** One WhatsApp message as the receiving phone shows it. */
export interface InboxEntry {
  id: string;
  /** The sender's number, digits only. */
  from: string;
  /** The text, or a file's caption ('' without one). */
  text: string;
  /** A file, decrypted by the contact: sha256 of the plain bytes. */
  media?: ReceivedFile;
  /** Unix seconds of the first delivery. */
  timestamp: number;
  /** Deliveries of the same message id after the first (a resend shows once, as on a phone). */
  repeats: number;
}

/** What a virtual contact received, one entry per WhatsApp message id, in arrival order. */
export class Inbox {
  private readonly entries = new Map<string, InboxEntry>();

  /** An empty inbox, or one holding persisted entries. */
  constructor(saved: InboxEntry[] = []) {
    for (const entry of saved) this.entries.set(entry.id, { ...entry });
  }

  /** Records a delivery; a repeat of a known id only increments its `repeats`. */
  record(id: string, from: string, text: string, timestamp: number, media?: ReceivedFile): InboxEntry {
    const known = this.entries.get(id);
    if (known) {
      known.repeats += 1;
      return known;
    }
    const entry: InboxEntry = { id, from, text, ...(media ? { media } : {}), timestamp, repeats: 0 };
    this.entries.set(id, entry);
    return entry;
  }

  get(id: string): InboxEntry | undefined {
    return this.entries.get(id);
  }

  list(): InboxEntry[] {
    return [...this.entries.values()].map((entry) => ({ ...entry }));
  }
}

/** One message a virtual contact sent, with what the linked device acknowledged of it. */
export interface SentEntry {
  id: string;
  /** The linked number it went to, digits only. */
  to: string;
  /** The text, or a file's caption ('' without one). */
  text: string;
  /** Unix seconds of the send. */
  timestamp: number;
  /** Unix seconds of the first delivery receipt a linked device sent for it. */
  deliveredAt?: number;
  /** Unix seconds of the first read receipt a linked device sent for it (the chatbot read it). */
  readAt?: number;
}

/**
 * What virtual contacts sent and the receipts linked devices answered with: how a test sees that
 * the gateway marked a contact's message read. Kept in memory (a restart forgets it), the newest
 * `limit` messages per simulator.
 */
export class SentLog {
  private readonly entries = new Map<string, SentEntry>();

  constructor(private readonly limit = 10_000) {}

  /** Records a send of `contact`. */
  record(contact: string, entry: Omit<SentEntry, 'deliveredAt' | 'readAt'>): void {
    this.entries.set(`${contact}:${entry.id}`, { ...entry });
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** A receipt of a linked device for messages of `contact`; only the first of each kind counts. */
  receipt(contact: string, ids: string[], kind: 'delivery' | 'read', at: number): void {
    for (const id of ids) {
      const entry = this.entries.get(`${contact}:${id}`);
      if (!entry) continue;
      // A read message was delivered too, even when its delivery receipt never came.
      entry.deliveredAt ??= at;
      if (kind === 'read') entry.readAt ??= at;
    }
  }

  /** The messages `contact` sent, oldest first. */
  list(contact: string): SentEntry[] {
    const prefix = `${contact}:`;
    return [...this.entries].filter(([key]) => key.startsWith(prefix)).map(([, entry]) => ({ ...entry }));
  }
}
