import { type BinaryNode, decodeBinaryNode, encodeBinaryNode, proto } from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import type { Account, Companion } from './accounts.ts';
import type { ServerIdentity } from './certificate-chain.ts';
import { SimulatorError } from './errors.ts';
import { encodeFrame, FrameReader, type TransportCipher } from './frame-codec.ts';
import { type HandshakeResult, NoiseResponder } from './noise-responder.ts';

/** What the simulator does with a connection's life events. */
export interface ConnectionHandler {
  onHandshake(connection: Connection, result: HandshakeResult): void | Promise<void>;
  onStanza(connection: Connection, node: BinaryNode): void | Promise<void>;
  onClose(connection: Connection): void;
  onError(connection: Connection, error: unknown): void;
}

/** What a registering (not yet linked) companion sent in `devicePairingData`. */
export interface Registration {
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
}

type State = 'hello' | 'finish' | 'open' | 'closing' | 'closed';

// How long a client may take to close after a stream error or failure before it is cut off.
const CLOSE_GRACE_MS = 1000;
let nextConnectionId = 1;

/**
 * One WebSocket from a Baileys client: Noise handshake, then encrypted binary nodes processed
 * one at a time in arrival order. Keeps no timers except while closing.
 */
export class Connection {
  readonly id = nextConnectionId++;
  /** The client's Noise static key, known after the handshake. */
  clientStatic: Buffer | undefined;
  /** Set on a registration (QR or pairing-code) connection. */
  registration: Registration | undefined;
  /** Set once a paired device has logged in on this connection. */
  device: { account: Account; companion: Companion } | undefined;
  /** Pair-device refs handed to this connection; each one is a QR code. */
  readonly refs: string[] = [];

  private state: State = 'hello';
  private readonly reader = new FrameReader();
  private noise: NoiseResponder | undefined;
  private transport: TransportCipher | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly waiters = new Map<
    string,
    { resolve(node: BinaryNode): void; reject(error: Error): void }
  >();
  private nextIqId = 1;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly identity: ServerIdentity,
    private readonly handler: ConnectionHandler,
  ) {
    ws.on('message', (data: Buffer) => this.receive(data));
    ws.on('close', () => this.closed());
    ws.on('error', () => ws.terminate());
  }

  /** True while stanzas can still be sent and handled (not after a stream error). */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Encrypts and sends one node; false when the connection is no longer open. */
  sendNode(node: BinaryNode): boolean {
    if (this.state !== 'open' || !this.transport) return false;
    this.ws.send(encodeFrame(this.transport.encrypt(encodeBinaryNode(node))));
    return true;
  }

  /** Sends a server-initiated IQ and waits for the client's answer with the same id. */
  request(node: BinaryNode, timeoutMs: number): Promise<BinaryNode> {
    const id = `${this.id}.${this.nextIqId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new SimulatorError('CLIENT_TIMEOUT', `the client did not answer ${node.tag} in time`, 504));
      }, timeoutMs);
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(id);
      };
      this.waiters.set(id, {
        resolve: (answer) => {
          settle();
          resolve(answer);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      if (!this.sendNode({ ...node, attrs: { ...node.attrs, id } })) {
        this.waiters.get(id)?.reject(new SimulatorError('CLIENT_GONE', 'the client disconnected', 409));
      }
    });
  }

  /** Sends a last node (a stream error or login failure), then closes once the client has hung up. */
  end(lastNode?: BinaryNode): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (lastNode) this.sendNode(lastNode);
    this.state = 'closing';
    this.rejectWaiters();
    this.closeTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.ws.close();
  }

  /** Cuts the TCP connection with no goodbye, as a network drop would. */
  drop(): void {
    this.state = 'closing';
    this.ws.terminate();
  }

  private receive(data: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    try {
      for (const frame of this.reader.push(data)) this.receiveFrame(frame);
    } catch (error) {
      this.handler.onError(this, error);
      this.drop();
    }
  }

  private receiveFrame(frame: Buffer): void {
    if (this.state === 'hello') {
      const { clientHello } = proto.HandshakeMessage.decode(frame);
      if (!clientHello || !this.reader.introHeader) throw new Error('expected a client hello');
      this.noise = new NoiseResponder(this.identity, this.reader.introHeader);
      this.ws.send(encodeFrame(this.noise.respondToHello(clientHello)));
      this.state = 'finish';
    } else if (this.state === 'finish') {
      const { clientFinish } = proto.HandshakeMessage.decode(frame);
      if (!clientFinish || !this.noise) throw new Error('expected a client finish');
      const result = this.noise.finish(clientFinish);
      this.noise = undefined;
      this.transport = result.transport;
      this.clientStatic = result.clientStatic;
      this.state = 'open';
      this.enqueue(() => this.handler.onHandshake(this, result));
    } else if (this.transport) {
      // Decrypt now, in arrival order, since the counter is per frame; handle in order later.
      const plaintext = this.transport.decrypt(frame);
      this.enqueue(async () => this.dispatch(await decodeBinaryNode(plaintext)));
    }
  }

  private async dispatch(node: BinaryNode): Promise<void> {
    const waiter = node.tag === 'iq' && node.attrs.id ? this.waiters.get(node.attrs.id) : undefined;
    if (waiter && (node.attrs.type === 'result' || node.attrs.type === 'error')) {
      waiter.resolve(node);
      return;
    }
    await this.handler.onStanza(this, node);
  }

  private enqueue(task: () => void | Promise<void>): void {
    this.queue = this.queue
      .then(async () => {
        if (this.state === 'open') await task();
      })
      .catch((error: unknown) => this.handler.onError(this, error));
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.closeTimer);
    this.rejectWaiters();
    this.handler.onClose(this);
  }

  private rejectWaiters(): void {
    for (const waiter of [...this.waiters.values()]) {
      waiter.reject(new SimulatorError('CLIENT_GONE', 'the client disconnected', 409));
    }
  }
}
