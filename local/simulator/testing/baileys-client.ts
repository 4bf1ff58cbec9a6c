import {
  type AuthenticationCreds,
  type AuthenticationState,
  type ConnectionState,
  makeWASocket,
  type SocketConfig,
  type WAMessage,
  type WAMessageUpdate,
  type WASocket,
} from '@whiskeysockets/baileys';
import { silentBaileysLogger } from '#runner/baileys-logger.ts';
import { useMemoryAuthState } from './memory-auth-state.ts';
import { waitFor } from './wait-for.ts';

export interface ClosedConnection {
  statusCode: number | undefined;
  message: string | undefined;
}

/**
 * An unmodified Baileys socket pointed at a simulator, recording what it emits: QR codes, the
 * connection state, incoming messages and message updates. `restart()` makes a new socket with
 * the same auth state, as a product does after a 515.
 */
export class BaileysTestClient {
  readonly auth: AuthenticationState;
  sock!: WASocket;
  readonly qrs: string[] = [];
  readonly received: WAMessage[] = [];
  /** `notify` for live messages, `append` for those delivered from the offline queue. */
  readonly upsertTypes = new Map<string, string>();
  readonly updates: WAMessageUpdate[] = [];
  connection: ConnectionState['connection'] = 'connecting';
  closed: ClosedConnection | undefined;

  /** `timeoutMs` bounds the handshake and every query; short by default so failures show fast. */
  constructor(
    private readonly url: string,
    creds?: AuthenticationCreds,
    private readonly timeoutMs = 5_000,
    /** More socket settings, e.g. a `fetchAgent` that trusts the simulator's media CA. */
    private readonly socketOptions: Partial<SocketConfig> = {},
  ) {
    this.auth = useMemoryAuthState(creds).state;
    this.restart();
  }

  restart(): WASocket {
    this.closed = undefined;
    this.connection = 'connecting';
    const sock = makeWASocket({
      waWebSocketUrl: this.url,
      auth: this.auth,
      logger: silentBaileysLogger,
      connectTimeoutMs: this.timeoutMs,
      defaultQueryTimeoutMs: this.timeoutMs,
      keepAliveIntervalMs: 30_000,
      markOnlineOnConnect: true,
      syncFullHistory: false,
      ...this.socketOptions,
    });
    sock.ev.on('connection.update', (update) => {
      if (sock !== this.sock) return;
      if (update.qr) this.qrs.push(update.qr);
      if (update.connection) this.connection = update.connection;
      if (update.connection === 'close') {
        const error = update.lastDisconnect?.error as
          | { output?: { statusCode?: number }; message?: string }
          | undefined;
        this.closed = { statusCode: error?.output?.statusCode, message: error?.message };
      }
    });
    sock.ev.on('messages.upsert', ({ messages, type }) => {
      if (sock !== this.sock) return;
      this.received.push(...messages);
      for (const message of messages) if (message.key.id) this.upsertTypes.set(message.key.id, type);
    });
    sock.ev.on('messages.update', (updates) => {
      if (sock === this.sock) this.updates.push(...updates);
    });
    this.sock = sock;
    return sock;
  }

  async nextQr(count = 1): Promise<string> {
    return waitFor(() => this.qrs.length >= count && this.qrs[count - 1], 'a QR code');
  }

  async opened(timeoutMs = 10_000): Promise<void> {
    await waitFor(
      () => this.connection === 'open' || this.failIfClosed('open'),
      'the connection to open',
      timeoutMs,
    );
  }

  async closedWith(timeoutMs = 10_000): Promise<ClosedConnection> {
    return waitFor(() => this.closed, 'the connection to close', timeoutMs);
  }

  /** Waits for an incoming message whose text matches. */
  async message(text: string): Promise<WAMessage> {
    return waitFor(() => this.received.find((m) => textOf(m) === text), `message "${text}"`);
  }

  /** Waits for a status update (3 delivered, 4 read) of one of our messages. */
  async status(id: string, status: number): Promise<WAMessageUpdate> {
    return waitFor(
      () => this.updates.find((u) => u.key.id === id && u.update.status === status),
      `status ${status}`,
    );
  }

  end(): void {
    this.sock.end(undefined);
  }

  private failIfClosed(waitingFor: string): false {
    if (this.closed) throw new Error(`closed (${this.closed.statusCode}) while waiting for ${waitingFor}`);
    return false;
  }
}

export function textOf(message: WAMessage): string | undefined {
  return message.message?.conversation ?? message.message?.extendedTextMessage?.text ?? undefined;
}
