import { type AuthenticationCreds, BufferJSON, Curve, type KeyPair } from '@whiskeysockets/baileys';
import { silenceLibsignal } from '#runner/silence-libsignal.ts';
import type { CertificateFlaw } from './certificate-chain.ts';
import { createControlApi } from './control-api.ts';
import { SimulatorError } from './errors.ts';
import type { InboxEntry, SentEntry } from './inbox.ts';
import type { OutgoingFile } from './media-crypto.ts';
import { MediaStore, serveMediaHost } from './media-host.ts';
import { createMediaTls } from './media-tls.ts';
import { pairCredentials } from './paired-credentials.ts';
import type { LinkedDevice } from './pairing.ts';
import { serve, WS_PATH } from './server.ts';
import { SimulatorCore, type SimulatorStats } from './simulator.ts';
import { keyPairFromState, keyPairToState, SimulatorStateFile } from './state-file.ts';
import { type DisconnectCode, isDisconnectCode } from './stream-errors.ts';

export { CERTIFICATE_FLAWS, type CertificateFlaw } from './certificate-chain.ts';
export { SimulatorError } from './errors.ts';
export type { InboxEntry, SentEntry } from './inbox.ts';
export type { OutgoingFile, ReceivedFile } from './media-crypto.ts';
export type { LinkedDevice } from './pairing.ts';
export type { SimulatorStats } from './simulator.ts';
export { DISCONNECT_CODES, type DisconnectCode } from './stream-errors.ts';
export { useMemoryAuthState } from './testing/memory-auth-state.ts';

export interface StartOptions {
  /** Port for both the WebSocket and the control API; 0 (default) picks a free one. */
  port?: number;
  /** Loopback by default; the simulator has no authentication. */
  host?: string;
  /** A root key pair of your own, e.g. to prove that a client refuses an untrusted root. */
  rootKeyPair?: KeyPair;
  /** Present a certificate chain with this defect, to prove that a client refuses it. */
  certificateFlaw?: CertificateFlaw;
  /** Delay of delivery and read receipts, default 200 ms (at least 150, see docs/whatsapp-simulator.md). */
  receiptDelayMs?: number;
  /** QR codes offered per registering companion, default 6. */
  qrRefs?: number;
  /** How long a virtual phone waits for a companion while pairing, default 10 s. */
  pairingTimeoutMs?: number;
  /** Receives unexpected protocol errors (nothing is logged otherwise). */
  onError?: (error: unknown) => void;
  /**
   * Keep accounts, devices, Signal sessions, inboxes and the root key in `<dataDir>/state.json`,
   * so linked devices log in again after a restart; in memory only when unset.
   */
  dataDir?: string;
}

/** A running simulator: where it listens, whom to trust, and what tests can make it do. */
export interface Simulator {
  /** `ws://<host>:<port>/ws/chat`, Baileys' `waWebSocketUrl`. */
  readonly url: string;
  /** `http://<host>:<port>`, the control API. */
  readonly httpUrl: string;
  readonly port: number;
  /** The root public key a client must trust (32 bytes, and as hex). */
  readonly rootPublicKey: Buffer;
  readonly rootPublicKeyHex: string;
  /** PEM of the simulator's own CA: what a client must trust (in simulator mode only) for media. */
  readonly mediaCaPem: string;
  /** `https://<host>:<port>` of the loopback media host. */
  readonly mediaUrl: string;
  /** The phone `phone` scans a QR string from `connection.update`; resolves once the device is linked. */
  scanQr(phone: string, qr: string): Promise<LinkedDevice>;
  /** The phone `phone` types the code `requestPairingCode` returned; resolves once linked. */
  enterPairingCode(phone: string, code: string): Promise<LinkedDevice>;
  /** The contact `contact` sends `text` to the linked number `to`. */
  sendText(contact: string, to: string, text: string): Promise<{ id: string }>;
  /** The contact `contact` sends a file (a WhatsApp media message) to the linked number `to`. */
  sendMedia(contact: string, to: string, file: OutgoingFile): Promise<{ id: string }>;
  /** The contact reads message `id` it received: the sender gets a read receipt. */
  markRead(contact: string, id: string): void;
  /** The contact reads everything unread it received from the linked number `from`; returns how many. */
  markReadFrom(contact: string, from: string): number;
  /** What the contact received, decrypted, one entry per message id. */
  inbox(contact: string): InboxEntry[];
  /** What the contact sent, with the linked device's delivery and read receipts for each. */
  sent(contact: string): SentEntry[];
  /** A stream error (or, for 428, a dropped socket) to every connected device of `phone`. */
  disconnect(phone: string, code: DisconnectCode): number;
  stats(): SimulatorStats;
  /** Baileys credentials of a new device already linked to `phone` (logs in without QR). */
  createPairedCredentials(phone: string): AuthenticationCreds;
  stop(): Promise<void>;
}

/** Starts a simulator on loopback; see {@link StartOptions}. Rejects when the port is taken. */
export async function start(options: StartOptions = {}): Promise<Simulator> {
  silenceLibsignal();
  const host = options.host ?? '127.0.0.1';
  const receiptDelayMs = Math.max(150, options.receiptDelayMs ?? 200);
  const saved = options.dataDir ? SimulatorStateFile.load(options.dataDir) : undefined;
  const rootKeyPair =
    options.rootKeyPair ?? (saved ? keyPairFromState(saved.rootKeyPair) : Curve.generateKeyPair());
  let stateFile: SimulatorStateFile | undefined;
  const changed = () => stateFile?.schedule();
  const mediaTls = createMediaTls();
  const media = new MediaStore();
  const mediaHost = await serveMediaHost(media, mediaTls, host);
  const core = new SimulatorCore({
    media,
    onChange: changed,
    rootKeyPair,
    certificateFlaw: options.certificateFlaw,
    receiptDelayMs,
    qrRefs: options.qrRefs ?? 6,
    pairingTimeoutMs: options.pairingTimeoutMs ?? 10_000,
    onError: options.onError,
  });
  if (saved) core.registry.restore(saved.accounts);
  if (options.dataDir) {
    stateFile = new SimulatorStateFile(options.dataDir, () => ({
      version: 1,
      rootKeyPair: keyPairToState(rootKeyPair),
      accounts: core.registry.toState(),
    }));
    stateFile.save();
  }
  // Control operations may create accounts, link devices or advance Signal sessions.
  const persisting = <T>(result: Promise<T>): Promise<T> => result.finally(changed);
  const number = (value: string, what: string) => {
    if (!/^\d{6,15}$/.test(value)) {
      throw new SimulatorError('INVALID_NUMBER', `${what} must be 6 to 15 digits`);
    }
    return value;
  };
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const rootPublicKey = core.identity.rootPublicKey;
  const simulator: Simulator = {
    get url() {
      return `ws://${urlHost}:${server?.port}${WS_PATH}`;
    },
    get httpUrl() {
      return `http://${urlHost}:${server?.port}`;
    },
    get port() {
      return server?.port ?? 0;
    },
    rootPublicKey,
    rootPublicKeyHex: rootPublicKey.toString('hex'),
    mediaCaPem: mediaTls.caPem,
    mediaUrl: media.origin,
    scanQr: async (phone, qr) => persisting(core.pairing.scanQr(number(phone, 'phone'), qr)),
    enterPairingCode: async (phone, code) =>
      persisting(core.pairing.code.enterPairingCode(number(phone, 'phone'), code)),
    sendText: async (contact, to, text) => {
      if (!text) throw new SimulatorError('INVALID_TEXT', 'text must not be empty');
      return persisting(core.messaging.sendText(number(contact, 'contact'), number(to, 'to'), text));
    },
    sendMedia: async (contact, to, file) => {
      if (!file.bytes.length) throw new SimulatorError('INVALID_MEDIA', 'the file must not be empty');
      return persisting(core.messaging.sendMedia(number(contact, 'contact'), number(to, 'to'), file));
    },
    markRead: (contact, id) => core.messaging.markRead(number(contact, 'contact'), id),
    markReadFrom: (contact, from) =>
      core.messaging.markReadFrom(number(contact, 'contact'), number(from.replace('+', ''), 'from')),
    inbox: (contact) => core.registry.get(number(contact, 'contact'))?.inbox.list() ?? [],
    sent: (contact) => core.messaging.sentLog.list(number(contact, 'contact')),
    disconnect: (phone, code) => {
      if (!isDisconnectCode(code)) {
        throw new SimulatorError('INVALID_CODE', `unsupported disconnect code ${code}`);
      }
      const hit = core.disconnect(number(phone, 'phone'), code);
      changed();
      return hit;
    },
    stats: () => core.stats(),
    createPairedCredentials: (phone) => {
      const creds = pairCredentials(core.pairing, core.registry.getOrCreate(number(phone, 'phone')));
      changed();
      return creds;
    },
    stop: async () => {
      core.close();
      await server?.close();
      await mediaHost.close();
      stateFile?.save();
    },
  };
  server = await serve({
    host,
    port: options.port ?? 0,
    onRequest: createControlApi(simulator),
    onWebSocket: (ws) => core.accept(ws),
  });
  return simulator;
}

/** {@link Simulator.createPairedCredentials}, for callers that hold the simulator. */
export function createPairedCredentials(simulator: Simulator, phone: string): AuthenticationCreds {
  return simulator.createPairedCredentials(phone);
}

/** The same through the control API, for a simulator in another process. */
export async function fetchPairedCredentials(httpUrl: string, phone: string): Promise<AuthenticationCreds> {
  const response = await fetch(`${httpUrl}/phones/${phone}/paired-credentials`, { method: 'POST' });
  if (!response.ok) {
    throw new Error(`paired credentials refused: ${response.status} ${await response.text()}`);
  }
  return JSON.parse(await response.text(), BufferJSON.reviver).creds as AuthenticationCreds;
}
