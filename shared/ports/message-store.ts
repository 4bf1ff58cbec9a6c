import type { Message } from '../domain/entities.ts';
import type { MessageStatus } from '../domain/session-status.ts';
import type { Page, PageRequest } from './page.ts';

export interface MessageStatusUpdate {
  status: MessageStatus;
  waMessageId?: string;
  error?: string;
  now: string;
  /**
   * The runner's shard-lease fence: the write is refused once a newer owner has claimed or written
   * the message (a zombie runner's late SENT, FAILED or receipt changes nothing).
   */
  fence?: number;
  /** The session the writer acts for: the write is refused for another session's message. */
  sessionId?: string;
  /** With SENT of a file: what WhatsApp was sent (the message's `media` must exist). */
  sentMedia?: SentMedia;
}

/** A sent file's plain size and sha256 (hex), and its WhatsApp media message to answer retries with. */
export interface SentMedia {
  size: number;
  sha256: string;
  /** The media message (proto, base64), see `Message.waMedia`. */
  waMedia: string;
}

/** A runner's claim on a queued send, made before anything goes out to WhatsApp. */
export interface SendClaim {
  /** The session (and tenant) the command names: a message of another one is never sent. */
  sessionId: string;
  tenantId: string;
  fence: number;
  runnerId: string;
  /** The WhatsApp id it goes out under; remembered with the session so receipts find the message. */
  waMessageId: string;
  now: string;
  /** A claim taken before this instant is a dead runner's (crashed mid-send) and may be taken over. */
  staleBefore: string;
}

export type ClaimOutcome =
  /** Ours: send it now, then record SENT or FAILED under the same fence. */
  | { kind: 'claimed'; message: Message }
  /** SENT, DELIVERED, READ or FAILED already: a redelivered command has nothing to do. */
  | { kind: 'final'; message: Message }
  /** Claimed by a live holder with the same or a newer fence: try again later. */
  | { kind: 'busy' }
  /** No such message, or it belongs to another session or tenant. */
  | { kind: 'foreign' };

/** A send still QUEUED, with the runner's bookkeeping the sweeper decides on. */
export interface QueuedSend {
  message: Message;
  /** When a runner last claimed it (a live claim means a send is under way). */
  claimedAt?: string;
  /** How often the sweeper enqueued it again, and when it last did. */
  resends: number;
  resentAt?: string;
}

/** The sweeper's last word on a send that never left: FAILED, unless a live claim holds it. */
export interface SendGiveUp {
  sessionId: string;
  fence: number;
  error: string;
  now: string;
  /** A claim taken at or after this instant is live: the message is left alone. */
  claimStaleBefore: string;
}

export interface MessageStore {
  get(messageId: string): Promise<Message | undefined>;
  /** Stores the message unless its id exists; false when it did. */
  putIfAbsent(message: Message): Promise<boolean>;
  delete(messageId: string): Promise<void>;
  /** Moves the status forward only (receipts arrive out of order); undefined when it would not move. */
  updateStatus(messageId: string, update: MessageStatusUpdate): Promise<Message | undefined>;
  /**
   * QUEUED → claimed for sending, conditionally: at most one runner sends a message at a time, and
   * a claim is taken over only from an older fence or after `staleBefore`. Also remembers the
   * WhatsApp id for the session (kept for weeks, for receipts and retry requests after a restart).
   */
  claimSend(messageId: string, claim: SendClaim): Promise<ClaimOutcome>;
  /** Gives a claim back (the socket dropped before the send): the next delivery may claim it at once. */
  releaseSend(messageId: string, holder: { fence: number; runnerId: string }): Promise<void>;
  /** The session's sends still QUEUED that were accepted before `createdBefore`, oldest first. */
  listQueued(sessionId: string, page: { createdBefore: string; limit: number }): Promise<QueuedSend[]>;
  /**
   * Counts one more enqueue by the sweeper, fenced; the new count, or undefined when the message is
   * no longer QUEUED (or a newer owner wrote it).
   */
  noteResend(messageId: string, holder: { fence: number; now: string }): Promise<number | undefined>;
  /** QUEUED → FAILED with the reason, fenced and refused while a live claim holds the message. */
  giveUpSend(messageId: string, giveUp: SendGiveUp): Promise<Message | undefined>;
  /**
   * A sent file's facts on a message already past SENT (a receipt overtook the SENT write), fenced
   * and for the session's own message; undefined when refused or the message has no file.
   */
  recordSentMedia(
    messageId: string,
    record: { sentMedia: SentMedia; fence: number; sessionId: string },
  ): Promise<Message | undefined>;
  /** Our message sent by the session under this WhatsApp id, whoever sent it and when. */
  findByWaMessageId(sessionId: string, waMessageId: string): Promise<Message | undefined>;
  /**
   * The messageId of what `findByWaMessageId` finds, for a receipt whose status write checks the
   * session and fence itself: a send this store claimed is known without a read.
   */
  findIdByWaMessageId(sessionId: string, waMessageId: string): Promise<string | undefined>;
  /** The messages of a conversation by creation time, oldest first unless `newestFirst`. */
  listByConversation(
    conversationId: string,
    page: PageRequest & { newestFirst?: boolean },
  ): Promise<Page<Message>>;
}
