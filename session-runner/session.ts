import type { Boom } from '@hapi/boom';
import makeWASocket, {
  type ConnectionState,
  jidNormalizedUser,
  type proto,
  type WAMessage,
  type WAMessageUpdate,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { SendCommand } from '#shared/contracts/commands.ts';
import type { MessageReceived } from '#shared/contracts/incoming.ts';
import type { Session } from '#shared/domain/entities.ts';
import type { SessionStatus } from '#shared/domain/session-status.ts';
import { phoneNumberOfJid } from '#shared/domain/whatsapp-address.ts';
import type { Logger } from '#shared/logger.ts';
import type { MessageStore } from '#shared/ports/message-store.ts';
import type { ObjectStore } from '#shared/ports/object-store.ts';
import type { SessionStatusFields, SessionStore } from '#shared/ports/session-store.ts';
import { RECEIPT_LOOKUP_WAITS_MS, recordReceipt } from '#shared/use-cases/receipts.ts';
import { DurableAuthState } from './auth-state/durable-auth-state.ts';
import { silentBaileysLogger } from './baileys-logger.ts';
import { type IncomingMedia, mediaIdOf } from './incoming-media.ts';
import type { IncomingPublisher } from './incoming-publisher.ts';
import { within } from './lease-keeper.ts';
import type { MetricSink } from './metrics.ts';
import type { OutgoingMedia } from './outgoing-media.ts';
import { resendMessageOf } from './outgoing-media-sent.ts';
import { type BackoffOptions, closeAction } from './reconnect-policy.ts';
import {
  attemptAtLoss,
  type EndedHow,
  type LifeEvent,
  type LifeState,
  type LifeStateKind,
  nextState,
  socketOf,
} from './session-life-cycle.ts';
import { type SendOutcome, SessionSender } from './session-send.ts';
import { mayBeOurWaMessageId } from './wa-message-id.ts';
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

export { isTransientSendError, type SendOutcome, typingMsFor } from './session-send.ts';

/** A failed status write is tried again after 1 s, 2 s … 30 s, at most this many times (about 8 min). */
const STATUS_RETRIES = 20;
/** The pause before try `attempt + 1` of a failed store write (status or receipt): 1 s doubling, 30 s at most. */
const storeRetryDelayMs = (attempt: number): number => Math.min(30_000, 1_000 * 2 ** attempt);
/** A failed receipt write is tried again after 1 s, 2 s … 30 s, at most this many times (about 1.5 min). */
const RECEIPT_RETRIES = 8;
/**
 * How long WhatsApp's ack of a receipt waits for its store write; past it the receipt stays unacked
 * (redelivered on the next login) while the write, or its retries, go on. Above one DynamoDB
 * request timeout (10 s) plus the lookup waits of an id not yet indexed.
 */
const RECEIPT_ACK_WAIT_MS = 15_000;
/** Receipts stored (or being stored), remembered so the same one from Baileys' event is not written twice. */
const MAX_REMEMBERED_RECEIPTS = 2000;

/** One receipt's entry in the session's receipt bookkeeping. */
const receiptKey = (waMessageId: string | null | undefined, status: number | null | undefined): string =>
  `${waMessageId}\n${status}`;

const FIRST_QR_TTL_MS = 60_000;
const NEXT_QR_TTL_MS = 20_000;

/**
 * One Baileys socket through its life: auth state from S3, QR or pairing code, CONNECTED, the
 * reconnect policy, sends paced per session, incoming texts to `incoming.fifo`, receipts to message
 * status. Every status write carries the lease fence; `halt()` drops the socket without writing.
 * Its life cycle is one state (session-life-cycle.ts), changed only through `enter`.
 */
export class WhatsAppSession {
  private auth?: DurableAuthState;
  private life: LifeState<WASocket> = { kind: 'loading' };
  /** QR codes shown by this instance, across its sockets: only the first gets the long TTL and a pairing code. */
  private qrCount = 0;
  private lastFrameAt = 0;
  /** Whether the current socket got any frame from the server (else its close is CONNECT_FAILED). */
  private reachedServer = true;
  /** Status writes started, and the retry timer of the latest one when it failed. */
  private statusWrites = 0;
  private statusRetry?: unknown;
  /** 515s in a row in this run of losses: only the first reconnects at once (reconnect-policy.ts). */
  private restartsInRow = 0;
  private openWaiters: (() => void)[] = [];
  private readonly storedIncoming = new Set<string>();
  /** Receipt writes under way or done, by `<waMessageId>\n<status>`: resolve true once stored or answered. */
  private readonly receiptWrites = new Map<string, Promise<boolean>>();
  /** Failed receipt writes waiting for their next try. */
  private readonly receiptRetries = new Map<string, { timer: unknown; attempt: number }>();
  private readonly sender: SessionSender;

  constructor(
    private record: Session,
    readonly fence: number,
    private readonly ctx: SessionContext,
    private readonly hooks: {
      /** Whether the runner still holds the shard: a session never (re)connects without it. */
      mayAct: () => boolean;
      onEnded: (session: WhatsAppSession) => void;
    } = { mayAct: () => true, onEnded: () => undefined },
  ) {
    this.sender = new SessionSender(ctx, {
      sessionId: record.sessionId,
      fence,
      tenantId: record.tenantId,
      openSocket: () => (this.life.kind === 'open' ? this.life.sock : undefined),
    });
  }

  get sessionId(): string {
    return this.record.sessionId;
  }

  /** Stopped, halted or shut down: this instance never connects again (a start opens a new one). */
  get ended(): boolean {
    return this.life.kind === 'ended';
  }

  /**
   * Why this instance ended (undefined while it lives): a send waiting on it follows a new instance
   * only after a halt; one closed by WhatsApp or stopped never comes back.
   */
  get endedHow(): EndedHow | undefined {
    return this.life.kind === 'ended' ? this.life.how : undefined;
  }

  /** The socket reported 'open' (independent of whether the CONNECTED write succeeded). */
  get connected(): boolean {
    return this.life.kind === 'open';
  }

  /** Where the session is in its life cycle (tests, health). */
  get state(): LifeStateKind {
    return this.life.kind;
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
  send(command: SendCommand): Promise<SendOutcome> {
    return this.sender.send(command);
  }

  /**
   * The watchdog, called on every heartbeat: a connected socket that heard nothing for two keep-alive
   * rounds is given up and replaced, without waiting for its close handshake (a frozen server never
   * answers it, and Baileys would wait for that before it reports the close).
   */
  checkSilence(): boolean {
    const keepAlive = this.ctx.socketOverrides?.keepAliveIntervalMs ?? 30_000;
    if (this.life.kind !== 'open' || this.ctx.now() - this.lastFrameAt <= 2 * keepAlive + 5000) return false;
    const silent = this.life.sock;
    this.ctx.logger.warn('socket silent: reconnecting', { sessionId: this.sessionId });
    // Backoff first, so the close that end() reports is an old socket's and ignored.
    this.onClose(408);
    silent.end(new Error('socket silent'));
    return true;
  }

  /** Closes the socket on request: `logout` unlinks the device and deletes the auth state. */
  async stop(logout: boolean): Promise<void> {
    // Unlinking needs an open socket: a session opened just for the logout waits for it briefly.
    if (logout && socketOf(this.life) && this.auth?.linked && !this.connected)
      await this.waitConnected(10_000);
    // Halted (the lease is gone) or shut down while it waited: nothing more is written.
    if (this.life.kind === 'ended' && (this.life.how === 'halted' || this.life.how === 'shutdown')) return;
    const sock = socketOf(this.life);
    // Refused when WhatsApp ended it already: the request (unlink, delete the auth state) is still done.
    this.enter({ type: 'end', how: 'stopped' });
    try {
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
    } finally {
      // Even when a step failed: no idle compaction, no late write into a next instance's journal.
      await this.auth?.retire();
    }
    this.hooks.onEnded(this);
  }

  /** Shutdown: close without logging out, flush the auth state, leave the status for the next runner. */
  async shutdown(): Promise<void> {
    const sock = socketOf(this.life);
    this.enter({ type: 'end', how: 'shutdown' });
    this.cancelStatusRetry(); // the status is left for the next runner
    sock?.end(undefined);
    // Compacts only a long journal: the next owner reads a short one in one round of GETs.
    await this.auth?.flush().catch(() => undefined);
  }

  /** The lease is gone: drop the socket at once and write nothing more. */
  halt(): void {
    const sock = socketOf(this.life);
    this.enter({ type: 'end', how: 'halted' });
    this.cancelStatusRetry();
    this.auth?.abandon(); // a creds write being retried must not outlive the lease
    sock?.end(undefined);
  }

  /**
   * The one place the life cycle changes: refused events (nothing leaves `ended`, no second socket)
   * change nothing; leaving backoff cancels its retry timer.
   */
  private enter(event: LifeEvent<WASocket>): boolean {
    const next = nextState(this.life, event);
    if (!next) return false;
    if (this.life.kind === 'backoff') this.ctx.timers.clearTimeout(this.life.timer);
    this.life = next;
    return true;
  }

  /** Opens a socket: after loading, or when the retry timer fires; never once ended or while one is live. */
  private connect(): void {
    if ((this.life.kind !== 'loading' && this.life.kind !== 'backoff') || !this.auth || !this.hooks.mayAct())
      return;
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
      // ... and for this before it acks a delivery or read receipt: an ack means stored.
      beforeReceiptAck: (updates) => this.storeBeforeReceiptAck(updates),
      ...this.ctx.socketOverrides,
    });
    this.enter({ type: 'dial', sock });
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
    // Stored before the ack already (the hook above): the same write is not started again, and a
    // failed one keeps its backoff (only WhatsApp's redelivery, through the hook, tries at once).
    sock.ev.on('messages.update', (updates) => {
      for (const u of updates)
        if (!this.receiptRetries.has(receiptKey(u.key.id, u.update.status)))
          void this.storeReceipt(u.key.id, u.update.status);
    });
  }

  private async onConnectionUpdate(sock: WASocket, update: Partial<ConnectionState>): Promise<void> {
    // An old socket's event, or one after the end: nothing happens.
    if (sock !== socketOf(this.life)) return;
    if (update.qr) await this.onQr(sock, update.qr);
    if (update.connection === 'open' && this.enter({ type: 'open', at: this.ctx.now() })) {
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
    if (update.connection === 'close' && sock === socketOf(this.life)) {
      const error = update.lastDisconnect?.error as Boom | undefined;
      this.onClose(error?.output?.statusCode, error?.message);
    }
  }

  private async onQr(sock: WASocket, qr: string): Promise<void> {
    if (!this.enter({ type: 'qr' })) return;
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
    const attempt = attemptAtLoss(this.life, this.ctx.now());
    // A sticky 515 is a run of losses too: the count starts again where the backoff does.
    this.restartsInRow = code === 515 ? (attempt === 0 ? 0 : this.restartsInRow) + 1 : 0;
    const linked = this.auth?.linked ?? false;
    const action = closeAction(
      code,
      linked,
      attempt,
      this.ctx.backoff,
      this.reachedServer,
      this.restartsInRow,
    );
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
      const timer = this.ctx.timers.setTimeout(() => this.connect(), action.delayMs);
      if (!this.enter({ type: 'lost', timer, attempt: attempt + 1 })) this.ctx.timers.clearTimeout(timer);
      return;
    }
    this.enter({ type: 'end', how: 'closed' });
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
      // A next instance of the session (same fence) must not race this one's writes, nor meet its
      // idle compaction a minute later.
      await this.auth?.retire();
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
   * Baileys' hook before it acks a delivery or read receipt to WhatsApp: resolves once every
   * update is stored (or answered: not ours, refused), so an ack means stored. A failed write, or
   * one past RECEIPT_ACK_WAIT_MS, rejects: the receipt stays unacked and WhatsApp delivers it again
   * on the next login (a kill -9 loses nothing), while this process keeps retrying the write.
   */
  private async storeBeforeReceiptAck(updates: WAMessageUpdate[]): Promise<void> {
    const writes = Promise.all(updates.map((u) => this.storeReceipt(u.key.id, u.update.status)));
    const stored = await within(
      this.ctx.timers,
      RECEIPT_ACK_WAIT_MS,
      'receipt write',
      writes.then((all) => all.every(Boolean)),
    ).catch(() => false);
    if (stored) return;
    this.ctx.logger.warn('receipt left unacked: WhatsApp delivers it again', { sessionId: this.sessionId });
    throw new Error('receipt not stored yet');
  }

  /**
   * A delivery or read receipt: the message is found through the stored WhatsApp id, so receipts
   * for messages sent before a restart or by another runner arrive too. Only forward, fenced.
   * One write per receipt: the hook and Baileys' event share it. A failed write (store slow or
   * down) is tried again with backoff, bounded like the status writes; fenced and forward only,
   * so also after a halt. Resolves true once stored or answered (a refusal, no message of ours).
   */
  private storeReceipt(
    waMessageId: string | null | undefined,
    status: number | null | undefined,
    retryAttempt?: number,
  ): Promise<boolean> {
    if (!waMessageId || !status || status < 3) return Promise.resolve(true);
    const key = receiptKey(waMessageId, status);
    const known = this.receiptWrites.get(key);
    if (known) return known;
    const retry = this.receiptRetries.get(key);
    if (retry) this.ctx.timers.clearTimeout(retry.timer);
    this.receiptRetries.delete(key);
    // WhatsApp's redelivery (the hook) while a retry waits tries now, counting on from that retry.
    const attempt = retryAttempt ?? retry?.attempt ?? 0;
    const write = recordReceipt(
      { messages: this.ctx.messages, sleep: (ms) => new Promise((r) => this.ctx.timers.setTimeout(r, ms)) },
      {
        sessionId: this.sessionId,
        waMessageId,
        status: status >= 4 ? 'READ' : 'DELIVERED',
        fence: this.fence,
        now: () => this.iso(),
      },
      // An id we never send under (the phone's own messages) is not waited for.
      mayBeOurWaMessageId(waMessageId) ? RECEIPT_LOOKUP_WAITS_MS : [],
    ).then(
      (outcome) => {
        // A send waiting to write SENT for this message need not (session-send.ts).
        if (outcome === 'stored') this.sender.receiptStored(waMessageId);
        return true;
      },
      (error) => {
        this.receiptWrites.delete(key);
        this.warn('receipt not stored', error);
        if (attempt + 1 < RECEIPT_RETRIES) {
          const timer = this.ctx.timers.setTimeout(() => {
            this.receiptRetries.delete(key);
            void this.storeReceipt(waMessageId, status, attempt + 1);
          }, storeRetryDelayMs(attempt));
          this.receiptRetries.set(key, { timer, attempt: attempt + 1 });
        }
        return false;
      },
    );
    this.receiptWrites.set(key, write);
    if (this.receiptWrites.size > MAX_REMEMBERED_RECEIPTS)
      this.receiptWrites.delete(this.receiptWrites.keys().next().value as string);
    return write;
  }

  /** Answers a recipient's retry request from the stored outbound message (survives restarts). */
  private async storedMessage(key: proto.IMessageKey): Promise<proto.IMessage | undefined> {
    if (!key.id) return undefined;
    const message = await this.ctx.messages.findByWaMessageId(this.sessionId, key.id);
    if (message?.direction !== 'out') return undefined;
    // A file goes again as the media message that was sent (its bytes stay on WhatsApp's host).
    return message.waMedia ? resendMessageOf(message.waMedia) : { conversation: message.text };
  }

  /** A fenced, guarded status write; the stored record follows what was written. */
  private async write(to: SessionStatus, fields: SessionStatusFields): Promise<void> {
    const seq = ++this.statusWrites;
    this.cancelStatusRetry();
    await this.storeStatus(to, fields, seq, 0);
  }

  /**
   * One try of a status write. A failed one (the store down) is tried again with backoff while it
   * is still the latest write: the heartbeat only stamps `runnerSeenAt`, so nothing else would
   * repair the record (CONNECTING shown for a connected session until its next change). A refusal
   * (fence, status guard) is an answer, not a failure: never retried.
   */
  private async storeStatus(
    to: SessionStatus,
    fields: SessionStatusFields,
    seq: number,
    attempt: number,
  ): Promise<void> {
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
      if (seq !== this.statusWrites || attempt + 1 >= STATUS_RETRIES || !this.mayWriteStatus()) return;
      this.statusRetry = this.ctx.timers.setTimeout(() => {
        this.statusRetry = undefined;
        if (seq !== this.statusWrites || !this.mayWriteStatus()) return;
        void this.storeStatus(to, fields, seq, attempt + 1);
      }, storeRetryDelayMs(attempt));
    }
  }

  /** Halted or shut down: nothing more is written; a live session also needs its grant. */
  private mayWriteStatus(): boolean {
    if (this.life.kind !== 'ended') return this.hooks.mayAct();
    // A stopped or closed session has left the shard's registry: its last word is fenced anyway.
    return this.life.how === 'stopped' || this.life.how === 'closed';
  }

  private cancelStatusRetry(): void {
    if (this.statusRetry === undefined) return;
    this.ctx.timers.clearTimeout(this.statusRetry);
    this.statusRetry = undefined;
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
