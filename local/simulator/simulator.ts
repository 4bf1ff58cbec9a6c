import type { BinaryNode, KeyPair, proto } from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import { type Account, AccountRegistry } from './accounts.ts';
import { SERVER_JID, unixNow } from './binary.ts';
import { type CertificateFlaw, createServerIdentity, type ServerIdentity } from './certificate-chain.ts';
import { Connection, type ConnectionHandler } from './connection.ts';
import { DeviceConnections, type DeviceStats } from './device-connections.ts';
import { handleIq, type IqServices } from './iq-handlers.ts';
import type { MediaStore } from './media-host.ts';
import { type MessageCounters, Messaging } from './messaging.ts';
import type { HandshakeResult } from './noise-responder.ts';
import { Pairing } from './pairing.ts';
import { type DisconnectCode, LOGIN_REFUSED, streamErrorNode } from './stream-errors.ts';

export interface SimulatorConfig {
  /** Root of the certificate chain; a fresh one by default. */
  rootKeyPair?: KeyPair | undefined;
  /** A defect in the presented certificate chain (tests of client refusals); none by default. */
  certificateFlaw?: CertificateFlaw | undefined;
  /** Delay of delivery and read receipts; at least 150 ms so Baileys reports them as updates. */
  receiptDelayMs: number;
  /** QR codes (pair-device refs) offered per registering companion. */
  qrRefs: number;
  /** How long a virtual phone waits for a companion during pairing. */
  pairingTimeoutMs: number;
  /** Called with unexpected protocol errors (the simulator itself never logs). */
  onError?: ((error: unknown) => void) | undefined;
  /** Called after every stanza a device sent, which may have changed accounts (to persist them). */
  onChange?: (() => void) | undefined;
  /** The encrypted files on the loopback media host. */
  media: MediaStore;
}

export interface SimulatorStats extends MessageCounters {
  devices: DeviceStats[];
  /** Open WebSocket connections, registering ones included. */
  connections: number;
  /** Protocol errors: malformed frames, failed handlers. */
  errors: number;
  /** Messages delivered again after the connection they went out on closed unanswered. */
  redelivered: number;
}

/**
 * The simulated WhatsApp server: accounts and their devices, the connections of Baileys
 * clients, and the control operations tests use (scan, send, read, disconnect, stats).
 */
export class SimulatorCore implements ConnectionHandler, IqServices {
  readonly registry = new AccountRegistry();
  readonly identity: ServerIdentity;
  readonly pairing: Pairing;
  readonly messaging: Messaging;
  private readonly devices = new DeviceConnections();
  private readonly connections = new Set<Connection>();
  private readonly counters: MessageCounters = {
    messagesIn: 0,
    messagesOut: 0,
    decryptFailures: 0,
    phoneCopies: 0,
    retryRequests: 0,
  };
  private errors = 0;

  constructor(private readonly config: SimulatorConfig) {
    this.identity = createServerIdentity(config.rootKeyPair, { flaw: config.certificateFlaw });
    this.pairing = new Pairing(this.registry, { qrRefs: config.qrRefs, timeoutMs: config.pairingTimeoutMs });
    this.messaging = new Messaging(
      this.registry,
      this.devices,
      this.counters,
      config.receiptDelayMs,
      config.media,
    );
  }

  /** Takes over an upgraded `/ws/chat` WebSocket. */
  accept(ws: WebSocket): void {
    this.connections.add(new Connection(ws, this.identity, this));
  }

  onHandshake(connection: Connection, { payload }: HandshakeResult): void {
    if (payload.devicePairingData) this.pairing.startRegistration(connection, payload.devicePairingData);
    else this.login(connection, payload);
  }

  async onStanza(connection: Connection, node: BinaryNode): Promise<void> {
    try {
      if (node.tag === 'iq') handleIq(this, connection, node);
      else if (node.tag === 'message') await this.messaging.onDeviceMessage(connection, node);
      else if (node.tag === 'receipt') await this.messaging.onDeviceReceipt(connection, node);
      // A device's ack answers a message or a receipt (the server stops keeping it).
      else if (node.tag === 'ack') this.devices.acked(connection, node);
      // presence, chatstate, ib and acks need no answer
    } finally {
      this.config.onChange?.();
    }
  }

  onClose(connection: Connection): void {
    this.connections.delete(connection);
    this.devices.detach(connection);
    this.pairing.forget(connection);
  }

  onError(_connection: Connection, error: unknown): void {
    this.errors += 1;
    this.config.onError?.(error);
  }

  activate(connection: Connection): void {
    const backlog = this.devices.activate(connection);
    for (const node of backlog) connection.sendNode(node);
    connection.sendNode({
      tag: 'ib',
      attrs: { from: SERVER_JID },
      content: [{ tag: 'offline', attrs: { count: String(backlog.length) } }],
    });
  }

  mediaConn(): { hostname: string; auth: string } {
    return { hostname: this.config.media.hostname, auth: this.config.media.auth };
  }

  removeDevice(account: Account, device: number): void {
    account.companions.delete(device);
    this.devices.forget(account, device);
  }

  /**
   * Sends a stream error to every logged-in connection of the number's devices and returns how
   * many there were. 401 also unlinks every companion of the number, so they cannot log in again.
   */
  disconnect(phone: string, code: DisconnectCode): number {
    const account = this.registry.get(phone);
    if (!account) return 0;
    const targets = this.devices.connectionsOf(account);
    for (const connection of targets) {
      const node = streamErrorNode(code);
      if (node) connection.end(node);
      else connection.drop();
    }
    if (code === 401) for (const device of [...account.companions.keys()]) this.removeDevice(account, device);
    return targets.length;
  }

  stats(): SimulatorStats {
    return {
      devices: this.devices.stats(this.registry),
      connections: this.connections.size,
      errors: this.errors,
      redelivered: this.devices.redelivered,
      ...this.counters,
    };
  }

  /** Closes every connection and cancels pending receipts. */
  close(): void {
    this.messaging.stop();
    for (const connection of this.connections) connection.drop();
  }

  private login(connection: Connection, payload: proto.IClientPayload): void {
    const account = payload.username != null ? this.registry.get(String(payload.username)) : undefined;
    const companion = account?.companions.get(payload.device ?? 0);
    if (!account || !companion || !connection.clientStatic?.equals(companion.noiseKey)) {
      connection.end(LOGIN_REFUSED);
      return;
    }
    connection.device = { account, companion };
    const older = this.devices.attach(connection, account, companion.id);
    // As on WhatsApp: the newest login of a device wins, the older socket is told it was replaced.
    for (const replaced of older) replaced.end(streamErrorNode(440));
    connection.sendNode({
      tag: 'success',
      attrs: {
        t: String(unixNow()),
        lid: account.lidJid(companion.id),
        props: '1',
        abprops: '1',
        location: 'sim',
        creation: String(unixNow()),
      },
    });
  }
}
