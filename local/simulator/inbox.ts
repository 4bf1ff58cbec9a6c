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
