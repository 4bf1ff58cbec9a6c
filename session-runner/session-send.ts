import type { Boom } from '@hapi/boom';
import type { WASocket } from '@whiskeysockets/baileys';
import type { SendCommand, SendManners } from '#shared/contracts/commands.ts';
import type { Message } from '#shared/domain/entities.ts';
import type { MessageMedia } from '#shared/domain/media.ts';
import type { ClaimOutcome, SentMedia } from '#shared/ports/message-store.ts';
import { OutgoingMediaError, type PreparedMedia } from './outgoing-media.ts';
import { sentMediaOf } from './outgoing-media-sent.ts';
import { type ExpectedReceipt, ReceiptWaiters } from './receipt-waiters.ts';
import type { SessionContext } from './session.ts';
import { waMessageIdFor } from './wa-message-id.ts';

/**
 * `skipped`: already final (a redelivery) or not this session's message, nothing to do;
 * `busy`: another live claim holds the message (another runner's, or a send of it under way in
 * this one), give the command back for later.
 */
export type SendOutcome = 'sent' | 'skipped' | 'busy' | 'not_connected' | 'failed';

/**
 * A claim older than this is a crashed attempt's and may be taken over (under the same WhatsApp id,
 * which the recipient dedupes): longer than the slowest legitimate send with its retries.
 */
const SEND_CLAIM_STALE_MS = 5 * 60_000;
const DEFAULT_SEND_RETRY = { attempts: 3, baseMs: 1000 };
/** "typing…" before an AI reply: about a fast typist's time for it, from 0.5 s up to 4 s. */
export const typingMsFor = (text: string): number => Math.min(4000, 500 + text.length * 30);

/** The messages a send is under way for, per runner (its context): shared by every session instance. */
const sendsUnderWay = new WeakMap<SessionContext, Set<string>>();
const sendingIn = (ctx: SessionContext): Set<string> => {
  const sending = sendsUnderWay.get(ctx) ?? new Set<string>();
  sendsUnderWay.set(ctx, sending);
  return sending;
};

/** What the send path needs of its session. */
export interface SendingSession {
  readonly sessionId: string;
  readonly fence: number;
  readonly tenantId: string;
  /** The socket while the session is open, else undefined (a send never goes out on another). */
  openSocket(): WASocket | undefined;
}

/** The outbound half of a session: claim, pace, manners, retries, and the fenced outcome. */
export class SessionSender {
  private lastSendAt = 0;
  /** Receipts of this session's texts, stored while their SENT write waits (see `receiptStored`). */
  private readonly receipts: ReceiptWaiters;

  constructor(
    private readonly ctx: SessionContext,
    private readonly session: SendingSession,
  ) {
    this.receipts = new ReceiptWaiters(ctx.timers);
  }

  /** The session stored a delivery or read receipt of `waMessageId`. */
  receiptStored(waMessageId: string): void {
    this.receipts.stored(waMessageId);
  }

  /**
   * Sends one queued message of this session. It is claimed in the message store first (fenced),
   * so a redelivered or parallel copy of the command never sends it again; a transient rejection
   * is retried with backoff before FAILED; SENT and FAILED are written under the same fence.
   */
  async send(command: SendCommand): Promise<SendOutcome> {
    if (!this.session.openSocket()) return 'not_connected';
    // One send of a message at a time in this runner: a parallel copy is busy without asking the
    // store, and a claim of ours found while no send of it runs here is a leftover (see claim()).
    const sending = sendingIn(this.ctx);
    if (sending.has(command.messageId)) return 'busy';
    sending.add(command.messageId);
    try {
      return await this.claimAndSend(command);
    } finally {
      sending.delete(command.messageId);
    }
  }

  private async claimAndSend(command: SendCommand): Promise<SendOutcome> {
    await this.pace();
    const sock = this.session.openSocket();
    if (!sock) return 'not_connected';
    const { sessionId, fence } = this.session;
    const waMessageId = waMessageIdFor(command.messageId);
    const holder = { fence, runnerId: this.ctx.runnerId ?? 'runner' };
    const claim = await this.claim(command.messageId, waMessageId, holder);
    if (claim.kind === 'busy') return 'busy';
    if (claim.kind === 'foreign') {
      this.ctx.logger.warn('send command for a message of another session: dropped', {
        sessionId,
        messageId: command.messageId,
      });
      return 'skipped';
    }
    if (claim.kind === 'final') return 'skipped';
    // A text's receipt is listened for from before its send: it may make the SENT write needless.
    const receipt = claim.message.media ? undefined : this.receipts.expect(waMessageId);
    try {
      return await this.sendClaimed(sock, command, claim.message, { holder, waMessageId, receipt });
    } finally {
      receipt?.cancel();
    }
  }

  private async sendClaimed(
    sock: WASocket,
    command: SendCommand,
    message: Message,
    claimed: {
      holder: { fence: number; runnerId: string };
      waMessageId: string;
      receipt: ExpectedReceipt | undefined;
    },
  ): Promise<SendOutcome> {
    const { sessionId, fence } = this.session;
    const { holder, waMessageId, receipt } = claimed;
    // The stored message is the truth: its recipient and text, not the command's copy.
    const { to, text, media } = message;
    if (command.manners) await this.converse(sock, command.manners, to, text);
    const retry = this.ctx.sendRetry ?? DEFAULT_SEND_RETRY;
    let sentMedia: SentMedia | undefined;
    for (let attempt = 1; ; attempt++) {
      let file: PreparedMedia | undefined;
      try {
        // A file is opened afresh for each attempt: a failed attempt may have read part of it.
        file = media ? await this.openMedia(media) : undefined;
        const sent = await sock.sendMessage(to, file ? file.content : { text }, { messageId: waMessageId });
        // The next send is paced from this one going out (after an AI reply's typing, not before).
        this.lastSendAt = this.ctx.now();
        if (file) sentMedia = sentMediaOf(sent?.message);
        break;
      } catch (error) {
        file?.close();
        // A file that could not be opened says so itself; anything else is WhatsApp's or the socket's.
        const fileError = error instanceof OutgoingMediaError ? error : undefined;
        if (!fileError && this.session.openSocket() !== sock) {
          // The socket went: the next attempt (after a reconnect) claims it again at once.
          await this.ctx.messages.releaseSend(command.messageId, holder).catch(() => undefined);
          return 'not_connected';
        }
        if (attempt < retry.attempts && (fileError ? fileError.transient : isTransientSendError(error))) {
          await this.sleep(retry.baseMs * 2 ** (attempt - 1));
          continue;
        }
        if (fileError) this.warn(`file not sent (${fileError.code})`, fileError);
        const reason =
          fileError?.code ?? (error instanceof Error ? error.message.slice(0, 200) : 'SEND_FAILED');
        await this.recordOutcome(command.messageId, { status: 'FAILED', error: reason });
        return 'failed';
      }
    }
    // A receipt stored (DELIVERED or READ: further than SENT, fenced, the claim and the sweeper's
    // keys cleared) by now, or while this session's next send would wait anyway (not at all with
    // pacing off), leaves SENT nothing to say: the store would refuse it as a step back.
    const paced = this.lastSendAt + this.ctx.sendMinIntervalMs - this.ctx.now();
    if (receipt && (await receipt.within(paced))) return 'sent';
    // A file's real size, sha256 and media message are stored with SENT, under the same fence; on
    // their own when a delivery receipt overtook the SENT write (which is then refused).
    const recorded = await this.recordOutcome(command.messageId, { status: 'SENT', waMessageId, sentMedia });
    if (!recorded && sentMedia) {
      await this.ctx.messages
        .recordSentMedia(command.messageId, { sentMedia, fence, sessionId })
        .catch((e) => this.warn('sent file not recorded', e));
    }
    return 'sent';
  }

  /**
   * Claims the message; when it is busy under our own holder (this runner, this fence) while no
   * send of it runs here, the claim is a leftover whose release failed (the store was down then):
   * it is given back and claimed again at once, instead of every copy being busy until it is stale.
   * The release is conditional on our holder, so another runner's claim is never touched.
   */
  private async claim(
    messageId: string,
    waMessageId: string,
    holder: { fence: number; runnerId: string },
  ): Promise<ClaimOutcome> {
    const attempt = () => {
      const now = this.ctx.now();
      return this.ctx.messages.claimSend(messageId, {
        ...holder,
        sessionId: this.session.sessionId,
        tenantId: this.session.tenantId,
        waMessageId,
        now: new Date(now).toISOString(),
        staleBefore: new Date(now - SEND_CLAIM_STALE_MS).toISOString(),
      });
    };
    const first = await attempt();
    if (first.kind !== 'busy') return first;
    // Still down: busy, as before (the command comes back later).
    const released = await this.ctx.messages.releaseSend(messageId, holder).then(
      () => true,
      () => false,
    );
    return released ? attempt() : first;
  }

  private openMedia(media: MessageMedia): Promise<PreparedMedia> {
    if (!this.ctx.outgoingMedia)
      throw new OutgoingMediaError('MEDIA_UNAVAILABLE', 'this runner sends no files');
    return this.ctx.outgoingMedia.prepare(this.session.tenantId, media);
  }

  /**
   * Conversation manners before an AI reply: the answered message is marked read, then "typing…"
   * for a moment proportional to the reply. Best effort: a failure here never holds the send back.
   */
  private async converse(sock: WASocket, manners: SendManners, to: string, text: string): Promise<void> {
    const ignore = (e: unknown) => this.warn('conversation manners skipped', e);
    await sock
      .readMessages([{ remoteJid: manners.chat, id: manners.readWaMessageId, fromMe: false }])
      .catch(ignore);
    await sock.sendPresenceUpdate('composing', to).catch(ignore);
    await this.sleep(typingMsFor(text));
    await sock.sendPresenceUpdate('paused', to).catch(ignore);
  }

  /** SENT or FAILED, fenced; refused when a newer owner took the message over or a receipt came first. */
  private async recordOutcome(
    messageId: string,
    outcome: { status: 'SENT' | 'FAILED'; waMessageId?: string; error?: string; sentMedia?: SentMedia },
  ): Promise<Message | undefined> {
    return this.ctx.messages.updateStatus(messageId, {
      ...outcome,
      fence: this.session.fence,
      sessionId: this.session.sessionId,
      now: new Date(this.ctx.now()).toISOString(),
    });
  }

  private async pace(): Promise<void> {
    const min = this.ctx.sendMinIntervalMs;
    const wait = this.lastSendAt + min + Math.random() * min * 0.5 - this.ctx.now();
    if (wait > 0) await this.sleep(wait);
    this.lastSendAt = this.ctx.now();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.ctx.timers.setTimeout(() => r(), ms));
  }

  private warn(message: string, error: unknown): void {
    this.ctx.logger.warn(message, {
      sessionId: this.session.sessionId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * Whether WhatsApp may take the same send a moment later: timeouts, rate limits, server errors and
 * plain network errors. A malformed request (bad JID, 4xx) fails at once.
 */
export const isTransientSendError = (error: unknown): boolean => {
  if (error instanceof TypeError || error instanceof RangeError) return false;
  const status = (error as Boom | undefined)?.output?.statusCode;
  if (status === undefined) return true;
  return status === 408 || status === 429 || status >= 500;
};
