import type { Boom } from '@hapi/boom';
import makeWASocket, {
  type ConnectionState,
  jidNormalizedUser,
  type proto,
  type WAMessage,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { SendCommand, SendManners } from '#shared/contracts/commands.ts';
import type { MessageReceived } from '#shared/contracts/incoming.ts';
import type { Message, Session } from '#shared/domain/entities.ts';
import type { MessageMedia } from '#shared/domain/media.ts';
import type { SessionStatus } from '#shared/domain/session-status.ts';
import { phoneNumberOfJid } from '#shared/domain/whatsapp-address.ts';
import type { Logger } from '#shared/logger.ts';
import type { MessageStore, SentMedia } from '#shared/ports/message-store.ts';
import type { ObjectStore } from '#shared/ports/object-store.ts';
import type { SessionStatusFields, SessionStore } from '#shared/ports/session-store.ts';
import { DurableAuthState } from './auth-state/durable-auth-state.ts';
import { silentBaileysLogger } from './baileys-logger.ts';
import { type IncomingMedia, mediaIdOf } from './incoming-media.ts';
import type { IncomingPublisher } from './incoming-publisher.ts';
import type { MetricSink } from './metrics.ts';
import { type OutgoingMedia, OutgoingMediaError, type PreparedMedia } from './outgoing-media.ts';
import { resendMessageOf, sentMediaOf } from './outgoing-media-sent.ts';
import { type BackoffOptions, closeAction } from './reconnect-policy.ts';
import { waMessageIdFor } from './wa-message-id.ts';
import { mediaNote, mediaOf } from './whatsapp-media.ts';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What every session of a runner shares: stores, WhatsApp settings, and the lease check. */
export interface SessionContext {
  sessions: SessionStore;
  messages: MessageStore;
  objects: ObjectStore;
  /** Takes an incoming message; resolves once it is durable (SQS or the S3 spool). */
  publishIncoming: IncomingPublisher;
  /** Stores the file of an incoming image, voice note, video or document (none: only the note is kept). */
  incomingMedia?: Pick<IncomingMedia, 'capture'>;
  /** Opens the file of an outbound message (none: a send with a file fails MEDIA_UNAVAILABLE). */
  outgoingMedia?: Pick<OutgoingMedia, 'prepare'>;
  /** Before a session's socket opens: a spool left for it is redriven first (per-chat order). */
  recoverIncoming?: (sessionId: string) => Promise<void>;
  metrics: MetricSink;
  logger: Logger;
  timers: Timers;
  now: () => number;
  waWebSocketUrl: string;
  waVersion?: [number, number, number];
  sendMinIntervalMs: number;
  backoff: BackoffOptions;
  /** Extra socket settings (tests shorten Baileys' timeouts). */
  socketOverrides?: Partial<Parameters<typeof makeWASocket>[0]>;
  /** Shows a QR to a person (the local stack prints it in the terminal); never a log line. */
  onQr?: (sessionId: string, qr: string) => void;
  /** Who claims sends in the message store (the runner's id). */
  runnerId?: string;
  /** Retries of a send WhatsApp rejected for a transient reason, before FAILED. */
  sendRetry?: { attempts: number; baseMs: number };
}

/** Incoming messages stored before their receipt, remembered so the upsert after it skips them. */
const MAX_REMEMBERED_INCOMING = 2000;
/** How long a receipt waits for the message to be stored (SQS and S3 both failing). */
const RECEIPT_WAIT_MS = 30_000;

/**
 * `skipped`: already final (a redelivery) or not this session's message, nothing to do;
 * `busy`: another live claim holds the message, give the command back for later.
 */
export type SendOutcome = 'sent' | 'skipped' | 'busy' | 'not_connected' | 'failed';

const FIRST_QR_TTL_MS = 60_000;
/** How long a connection must stay open before a loss counts as a first one again (backoff from its base). */
const STABLE_OPEN_MS = 30_000;
const NEXT_QR_TTL_MS = 20_000;
/**
 * A claim older than this is a crashed attempt's and may be taken over (under the same WhatsApp id,
 * which the recipient dedupes): longer than the slowest legitimate send with its retries.
 */
const SEND_CLAIM_STALE_MS = 5 * 60_000;
const DEFAULT_SEND_RETRY = { attempts: 3, baseMs: 1000 };
/** "typing…" before an AI reply: about a fast typist's time for it, from 0.5 s up to 4 s. */
export const typingMsFor = (text: string): number => Math.min(4000, 500 + text.length * 30);

/**
 * One Baileys socket through its life: auth state from S3, QR or pairing code, CONNECTED, the
 * reconnect policy, sends paced per session, incoming texts to `incoming.fifo`, receipts to message
 * status. Every status write carries the lease fence; `halt()` drops the socket without writing.
 */
export class WhatsAppSession {
  private auth?: DurableAuthState;
  private sock?: WASocket;
  private attempt = 0;
  /** When the current socket opened: only a connection that stayed up a while resets the backoff. */
  private openedAt?: number;
  private qrCount = 0;
  private stopped = false;
  private retryTimer?: unknown;
  private lastSendAt = 0;
  private lastFrameAt = 0;
  /** Whether the current socket got any frame from the server (else its close is CONNECT_FAILED). */
  private reachedServer = true;
  /** The socket reported 'open' (independent of whether the CONNECTED write succeeded). */
  private socketOpen = false;
  private openWaiters: (() => void)[] = [];
  private readonly storedIncoming = new Set<string>();

  constructor(
    private record: Session,
    readonly fence: number,
    private readonly ctx: SessionContext,
    private readonly hooks: {
      /** Whether the runner still holds the shard: a session never (re)connects without it. */
      mayAct: () => boolean;
      onEnded: (session: WhatsAppSession) => void;
    } = { mayAct: () => true, onEnded: () => undefined },
  ) {}

  get sessionId(): string {
    return this.record.sessionId;
  }

  /** Stopped, halted or shut down: this instance never connects again (a start opens a new one). */
  get ended(): boolean {
    return this.stopped;
  }

  get connected(): boolean {
    return this.socketOpen && this.sock !== undefined;
  }

  /** Loads the auth state and opens the socket. */
  async start(): Promise<void> {
    this.auth = await DurableAuthState.load({
      store: this.ctx.objects,
      sessionId: this.sessionId,
      fence: this.fence,
      onError: (what, error) => this.warn(what, error),
    });
    await this.ctx.recoverIncoming?.(this.sessionId);
    this.connect();
  }

  /** Resolves once connected, or false after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.openWaiters = this.openWaiters.filter((w) => w !== onOpen);
        this.ctx.timers.clearTimeout(timer);
        resolve(ok);
      };
      const onOpen = () => done(true);
      const timer = this.ctx.timers.setTimeout(() => done(false), timeoutMs);
      this.openWaiters.push(onOpen);
    });
  }

  /**
   * Sends one queued message of this session. It is claimed in the message store first (fenced),
   * so a redelivered or parallel copy of the command never sends it again; a transient rejection
   * is retried with backoff before FAILED; SENT and FAILED are written under the same fence.
   */
  async send(command: SendCommand): Promise<SendOutcome> {
    if (!this.connected || !this.sock) return 'not_connected';
    await this.pace();
    const sock = this.sock;
    if (!this.connected || !sock) return 'not_connected';
    const now = this.ctx.now();
    const waMessageId = waMessageIdFor(command.messageId);
    const holder = { fence: this.fence, runnerId: this.ctx.runnerId ?? 'runner' };
    const claim = await this.ctx.messages.claimSend(command.messageId, {
      ...holder,
      sessionId: this.sessionId,
      tenantId: this.record.tenantId,
      waMessageId,
      now: new Date(now).toISOString(),
      staleBefore: new Date(now - SEND_CLAIM_STALE_MS).toISOString(),
    });
    if (claim.kind === 'busy') return 'busy';
    if (claim.kind === 'foreign') {
      this.ctx.logger.warn('send command for a message of another session: dropped', {
        sessionId: this.sessionId,
        messageId: command.messageId,
      });
      return 'skipped';
    }
    if (claim.kind === 'final') return 'skipped';
    // The stored message is the truth: its recipient and text, not the command's copy.
    const { to, text, media } = claim.message;
    if (command.manners) await this.converse(sock, command.manners, to, text);
    const retry = this.ctx.sendRetry ?? DEFAULT_SEND_RETRY;
    let sentMedia: SentMedia | undefined;
    for (let attempt = 1; ; attempt++) {
      let file: PreparedMedia | undefined;
      try {
        // A file is opened afresh for each attempt: a failed attempt may have read part of it.
        file = media ? await this.openMedia(media) : undefined;
        const sent = await sock.sendMessage(to, file ? file.content : { text }, { messageId: waMessageId });
        if (file) sentMedia = sentMediaOf(sent?.message);
        break;
      } catch (error) {
        file?.close();
        // A file that could not be opened says so itself; anything else is WhatsApp's or the socket's.
        const fileError = error instanceof OutgoingMediaError ? error : undefined;
        if (!fileError && (!this.connected || sock !== this.sock)) {
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
    // A file's real size, sha256 and media message are stored with SENT, under the same fence; on
    // their own when a delivery receipt overtook the SENT write (which is then refused).
    const recorded = await this.recordOutcome(command.messageId, { status: 'SENT', waMessageId, sentMedia });
    if (!recorded && sentMedia) {
      await this.ctx.messages
        .recordSentMedia(command.messageId, { sentMedia, fence: this.fence, sessionId: this.sessionId })
        .catch((e) => this.warn('sent file not recorded', e));
    }
    return 'sent';
  }

  private openMedia(media: MessageMedia): Promise<PreparedMedia> {
    if (!this.ctx.outgoingMedia)
      throw new OutgoingMediaError('MEDIA_UNAVAILABLE', 'this runner sends no files');
    return this.ctx.outgoingMedia.prepare(this.record.tenantId, media);
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
      fence: this.fence,
      sessionId: this.sessionId,
      now: this.iso(),
    });
  }

  /**
   * The watchdog, called on every heartbeat: a connected socket that heard nothing for two keep-alive
   * rounds is given up and replaced, without waiting for its close handshake (a frozen server never
   * answers it, and Baileys would wait for that before it reports the close).
   */
  checkSilence(): boolean {
    const keepAlive = this.ctx.socketOverrides?.keepAliveIntervalMs ?? 30_000;
    if (!this.connected || !this.sock || this.ctx.now() - this.lastFrameAt <= 2 * keepAlive + 5000)
      return false;
    const silent = this.sock;
    this.sock = undefined;
    this.socketOpen = false;
    silent.end(new Error('socket silent'));
    this.ctx.logger.warn('socket silent: reconnecting', { sessionId: this.sessionId });
    this.onClose(408);
    return true;
  }

  /** Closes the socket on request: `logout` unlinks the device and deletes the auth state. */
  async stop(logout: boolean): Promise<void> {
    // Unlinking needs an open socket: a session opened just for the logout waits for it briefly.
    if (logout && this.sock && this.auth?.linked && !this.connected) await this.waitConnected(10_000);
    this.stopped = true;
    this.ctx.timers.clearTimeout(this.retryTimer);
    const sock = this.sock;
    this.sock = undefined;
    if (logout) {
      await sock?.logout().catch(() => undefined);
      sock?.end(undefined); // logout() ends the socket itself, unless it failed before that
      await this.auth?.destroy();
      await this.write('LOGGED_OUT', {
        qr: null,
        qrExpiresAt: null,
        pairingCode: null,
        phoneNumber: null,
        lastError: null,
      });
    } else {
      sock?.end(undefined);
      await this.auth?.snapshot();
      await this.write('DISCONNECTED', { qr: null, qrExpiresAt: null, lastError: null });
    }
    this.hooks.onEnded(this);
  }

  /** Shutdown: close without logging out, flush the auth state, leave the status for the next runner. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.ctx.timers.clearTimeout(this.retryTimer);
    this.sock?.end(undefined);
    this.sock = undefined;
    await this.auth?.settle();
    await this.auth?.snapshot().catch(() => undefined);
  }

  /** The lease is gone: drop the socket at once and write nothing more. */
  halt(): void {
    this.stopped = true;
    this.auth?.abandon(); // a creds write being retried must not outlive the lease
    this.ctx.timers.clearTimeout(this.retryTimer);
    this.sock?.end(undefined);
    this.sock = undefined;
  }

  private connect(): void {
    if (this.stopped || !this.auth || !this.hooks.mayAct()) return;
    const auth = this.auth;
    void this.write('CONNECTING', {});
    const sock = makeWASocket({
      auth: auth.state,
      logger: silentBaileysLogger,
      waWebSocketUrl: this.ctx.waWebSocketUrl,
      ...(this.ctx.waVersion && { version: this.ctx.waVersion }),
      markOnlineOnConnect: false,
      syncFullHistory: false,
      shouldSyncHistoryMessage: () => false,
      getMessage: (key) => this.storedMessage(key),
      // Baileys (patched) waits for this before it sends WhatsApp the receipt of an incoming message.
      beforeReceipt: (m) => this.storeBeforeReceipt(m as WAMessage),
      ...this.ctx.socketOverrides,
    });
    this.sock = sock;
    this.lastFrameAt = this.ctx.now();
    this.reachedServer = false;
    sock.ws.on('frame', () => {
      this.lastFrameAt = this.ctx.now();
      this.reachedServer = true;
    });
    // Serialized in the auth state's write queue, retried until stored before any later key commit
    // (stop the line), and awaited on shutdown (`settle`).
    sock.ev.on('creds.update', () => void auth.saveCreds().catch((e) => this.warn('saving creds failed', e)));
    sock.ev.on('connection.update', (update) => void this.onConnectionUpdate(sock, update));
    // 'append' too: what arrived while no socket was open comes as the offline queue, marked append.
    sock.ev.on('messages.upsert', ({ messages }) => {
      for (const m of messages) void this.onIncoming(m);
    });
    sock.ev.on('messages.update', (updates) => {
      for (const u of updates) void this.onReceipt(u.key.id, u.update.status);
    });
  }

  private async onConnectionUpdate(sock: WASocket, update: Partial<ConnectionState>): Promise<void> {
    if (sock !== this.sock || this.stopped) return;
    if (update.qr) await this.onQr(sock, update.qr);
    if (update.connection === 'open') {
      this.openedAt = this.ctx.now();
      this.socketOpen = true;
      const jid = sock.user?.id ?? this.auth?.state.creds.me?.id ?? '';
      await this.write('CONNECTED', {
        phoneNumber: phoneNumberOfJid(jid.replace(/:\d+@/, '@')) ?? null,
        connectedAt: this.iso(),
        qr: null,
        qrExpiresAt: null,
        pairingCode: null,
        lastError: null,
      });
      for (const waiter of this.openWaiters) waiter();
    }
    if (update.connection === 'close') {
      this.sock = undefined;
      this.socketOpen = false;
      const error = update.lastDisconnect?.error as Boom | undefined;
      this.onClose(error?.output?.statusCode, error?.message);
    }
  }

  private async onQr(sock: WASocket, qr: string): Promise<void> {
    const ttl = this.qrCount++ === 0 ? FIRST_QR_TTL_MS : NEXT_QR_TTL_MS;
    const fields: SessionStatusFields = { qr, qrExpiresAt: new Date(this.ctx.now() + ttl).toISOString() };
    const phone = this.record.pairingPhoneNumber;
    if (phone && this.qrCount === 1) {
      fields.pairingCode = await sock.requestPairingCode(phone).catch(() => null);
    }
    await this.write('QR_READY', fields);
    this.ctx.onQr?.(this.sessionId, qr);
  }

  private onClose(code: number | undefined, cause?: string): void {
    // A server that ends every connection right after login is not hammered once a second: the
    // backoff starts again from its base only after a connection that stayed up (r5 found this).
    if (this.openedAt !== undefined && this.ctx.now() - this.openedAt >= STABLE_OPEN_MS) this.attempt = 0;
    this.openedAt = undefined;
    const linked = this.auth?.linked ?? false;
    const action = closeAction(code, linked, this.attempt++, this.ctx.backoff, this.reachedServer);
    if (code === 440) this.ctx.metrics('Disconnect440');
    if (code === 401) this.ctx.metrics('Disconnect401');
    const level = code === 405 ? 'error' : 'info'; // 405: WhatsApp refuses this client version (runbook)
    this.ctx.logger[level]('socket closed', { sessionId: this.sessionId, code, action: action.kind });
    if (action.kind === 'reconnect') {
      if (action.lastError) {
        // WhatsApp unreachable: say so (CONNECTING with the reason) and keep trying.
        this.ctx.logger.warn('cannot reach WhatsApp, retrying', {
          sessionId: this.sessionId,
          cause,
          retryInMs: action.delayMs,
        });
        void this.write('CONNECTING', { lastError: action.lastError, qr: null, qrExpiresAt: null });
      }
      this.retryTimer = this.ctx.timers.setTimeout(() => this.connect(), action.delayMs);
      return;
    }
    this.stopped = true;
    void (async () => {
      if (action.kind === 'logout') {
        await this.auth?.destroy();
        await this.write('LOGGED_OUT', {
          lastError: action.lastError,
          qr: null,
          qrExpiresAt: null,
          phoneNumber: null,
        });
      } else {
        await this.write('DISCONNECTED', { lastError: action.lastError, qr: null, qrExpiresAt: null });
      }
      await this.auth?.settle(); // a next instance of the session must not race this one's writes
      this.hooks.onEnded(this);
    })().catch((e) => this.warn('recording the close failed', e));
  }

  /**
   * Stores an incoming message (SQS, or the S3 spool) before WhatsApp gets its receipt, so a crash
   * cannot lose a message WhatsApp considers delivered. Bounded: when SQS and S3 both fail, the
   * receipt goes after RECEIPT_WAIT_MS and the outbox keeps the message and keeps trying.
   */
  private async storeBeforeReceipt(m: WAMessage): Promise<void> {
    const message = this.received(m);
    if (!message) return;
    const key = `${message.chat}\n${message.waMessageId}`;
    this.storedIncoming.add(key);
    if (this.storedIncoming.size > MAX_REMEMBERED_INCOMING)
      this.storedIncoming.delete(this.storedIncoming.values().next().value as string);
    let timer: unknown;
    const bound = new Promise<void>((r) => {
      timer = this.ctx.timers.setTimeout(r, RECEIPT_WAIT_MS);
    });
    await Promise.race([
      this.withMedia(message, m)
        .then((full) => this.ctx.publishIncoming(full))
        .catch((e) => this.warn('incoming message not stored', e)),
      bound,
    ]);
    this.ctx.timers.clearTimeout(timer);
  }

  private async onIncoming(m: WAMessage): Promise<void> {
    const message = this.received(m);
    // Stored before its receipt already (the usual path); the rest is published from here.
    if (!message || this.storedIncoming.delete(`${message.chat}\n${message.waMessageId}`)) return;
    // The outbox owns it from here: SQS, or the S3 spool when SQS fails; per-chat order.
    await this.withMedia(message, m)
      .then((full) => this.ctx.publishIncoming(full))
      .catch((e) => this.warn('incoming message not stored', e));
  }

  /** The message with its file stored (or marked failed); the receipt waits for it within its bound. */
  private async withMedia(message: MessageReceived, m: WAMessage): Promise<MessageReceived> {
    const store = this.ctx.incomingMedia;
    const media = store && mediaOf(m.message);
    if (!store || !media) return message;
    const mediaId = mediaIdOf(this.sessionId, message.waMessageId);
    return { ...message, media: await store.capture(this.record.tenantId, mediaId, media) };
  }

  /** The text a contact wrote as a `message.received`, or undefined for what is not published. */
  private received(m: WAMessage): MessageReceived | undefined {
    // Normalized as Baileys' cleanMessage does (the receipt hook runs before it).
    const jid = m.key.remoteJid ? jidNormalizedUser(m.key.remoteJid) : '';
    const media = mediaOf(m.message);
    // A file reaches the AI as a note of it ("[image: caption]").
    const text =
      m.message?.conversation ?? m.message?.extendedTextMessage?.text ?? (media && mediaNote(media));
    if (
      m.key.fromMe ||
      !m.key.id ||
      !text ||
      jid === 'status@broadcast' ||
      !/@(s\.whatsapp\.net|lid)$/.test(jid)
    )
      return undefined;
    const rawAlt = (m.key as { remoteJidAlt?: string }).remoteJidAlt;
    const alt = rawAlt ? jidNormalizedUser(rawAlt) : undefined;
    const chat = alt?.endsWith('@s.whatsapp.net') ? alt : jid;
    const timestamp = new Date(Number(m.messageTimestamp ?? this.ctx.now() / 1000) * 1000).toISOString();
    return {
      v: 1 as const,
      type: 'message.received' as const,
      tenantId: this.record.tenantId,
      chatbotId: this.record.chatbotId,
      sessionId: this.sessionId,
      waMessageId: m.key.id,
      from: chat,
      chat,
      ...(m.pushName && { pushName: m.pushName }),
      text,
      timestamp,
    };
  }

  /**
   * A delivery or read receipt: the message is found through the stored WhatsApp id, so receipts
   * for messages sent before a restart or by another runner arrive too. Only forward, fenced.
   */
  private async onReceipt(
    waMessageId: string | null | undefined,
    status: number | null | undefined,
  ): Promise<void> {
    if (!waMessageId || !status || status < 3) return;
    try {
      const message = await this.ctx.messages.findByWaMessageId(this.sessionId, waMessageId);
      if (!message) return;
      await this.ctx.messages.updateStatus(message.messageId, {
        status: status >= 4 ? 'READ' : 'DELIVERED',
        // A receipt can overtake the SENT write: the WhatsApp id is stored either way.
        waMessageId,
        fence: this.fence,
        sessionId: this.sessionId,
        now: this.iso(),
      });
    } catch (error) {
      this.warn('receipt not stored', error);
    }
  }

  /** Answers a recipient's retry request from the stored outbound message (survives restarts). */
  private async storedMessage(key: proto.IMessageKey): Promise<proto.IMessage | undefined> {
    if (!key.id) return undefined;
    const message = await this.ctx.messages.findByWaMessageId(this.sessionId, key.id);
    if (message?.direction !== 'out') return undefined;
    // A file goes again as the media message that was sent (its bytes stay on WhatsApp's host).
    return message.waMedia ? resendMessageOf(message.waMedia) : { conversation: message.text };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.ctx.timers.setTimeout(() => r(), ms));
  }

  private async pace(): Promise<void> {
    const min = this.ctx.sendMinIntervalMs;
    const wait = this.lastSendAt + min + Math.random() * min * 0.5 - this.ctx.now();
    if (wait > 0) await new Promise((r) => this.ctx.timers.setTimeout(() => r(undefined), wait));
    this.lastSendAt = this.ctx.now();
  }

  /** A fenced, guarded status write; the stored record follows what was written. */
  private async write(to: SessionStatus, fields: SessionStatusFields): Promise<void> {
    try {
      const now = this.iso();
      const updated = await this.ctx.sessions.transition(this.sessionId, {
        to,
        fields: { ...fields, runnerSeenAt: now },
        fence: this.fence,
        now,
      });
      if (updated) this.record = updated;
    } catch (error) {
      this.warn(`status ${to} not stored`, error);
    }
  }

  private iso(): string {
    return new Date(this.ctx.now()).toISOString();
  }

  private warn(message: string, error: unknown): void {
    this.ctx.logger.warn(message, {
      sessionId: this.sessionId,
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
