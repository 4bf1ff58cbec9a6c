import { randomBytes } from 'node:crypto';
import {
  type BinaryNode,
  encodeWAMessage,
  extractE2ESessionFromRetryReceipt,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  KEY_BUNDLE_TYPE,
  proto,
} from '@whiskeysockets/baileys';
import { mediaOf } from '#runner/whatsapp-media.ts';
import type { Account, AccountRegistry, ResolvedJid } from './accounts.ts';
import { encodeUint, toBuffer, unixNow } from './binary.ts';
import type { Connection } from './connection.ts';
import type { DeviceConnections } from './device-connections.ts';
import { SimulatorError } from './errors.ts';
import { SentLog } from './inbox.ts';
import { mediaMessage, type OutgoingFile, receiveMedia } from './media-crypto.ts';
import type { MediaStore } from './media-host.ts';
import type { CipherType, PreKeyBundle } from './signal-party.ts';

/** Counters shared with `GET /stats`. */
export interface MessageCounters {
  /** Message stanzas received from linked devices. */
  messagesIn: number;
  /** Message stanzas delivered (or queued) to linked devices, one per device. */
  messagesOut: number;
  /** Copies a virtual phone or contact could not decrypt. */
  decryptFailures: number;
  /** Copies of a companion's outgoing message that its own phone decrypted (`deviceSentMessage`). */
  phoneCopies: number;
  /** Retry receipts contacts sent to linked devices for messages they could not decrypt. */
  retryRequests: number;
}

interface ReceiptRoute {
  sender: Account;
  device: number;
  chatJid: string;
  /** A read receipt went out already. */
  read?: boolean;
}

interface SentMessage {
  message: proto.IMessage;
  timestamp: number;
}

// Routes for receipts and texts kept for resends; the oldest are forgotten past this many.
const MEMORY = 10_000;
// WhatsApp clients ask for a message again at most this many times (Baileys' maxMsgRetryCount).
const MAX_RETRY_REQUESTS = 5;

/**
 * The virtual contacts and phones as Signal parties: they send texts to linked devices, decrypt
 * what linked devices send them, and answer with delivery and read receipts. Copies meant for
 * other linked devices are relayed to them, as the real server does.
 */
export class Messaging {
  private readonly receiptRoutes = new Map<string, ReceiptRoute>();
  private readonly sent = new Map<string, SentMessage>();
  private readonly sendChains = new Map<string, Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Retry receipts a contact sent per message (`<contact>:<id>`). */
  private readonly retriesAsked = new Map<string, number>();
  /** What contacts sent, with the delivery and read receipts linked devices answered. */
  readonly sentLog = new SentLog(MEMORY);

  constructor(
    private readonly registry: AccountRegistry,
    private readonly devices: DeviceConnections,
    readonly counters: MessageCounters,
    private readonly receiptDelayMs: number,
    private readonly media: MediaStore,
  ) {}

  /** The contact `from` sends `text` to every linked device of `to`; resolves with the message id. */
  async sendText(from: string, to: string, text: string): Promise<{ id: string }> {
    return this.send(from, to, async () => ({ conversation: text }));
  }

  /** The contact `from` sends a file (encrypted onto the media host) to every linked device of `to`. */
  async sendMedia(from: string, to: string, file: OutgoingFile): Promise<{ id: string }> {
    return this.send(from, to, () => mediaMessage(file, this.media));
  }

  private async send(
    from: string,
    to: string,
    build: () => Promise<proto.IMessage>,
  ): Promise<{ id: string }> {
    const target = this.registry.get(to);
    if (!target?.companions.size) throw new SimulatorError('NOT_LINKED', `${to} has no linked device`, 409);
    const contact = this.registry.getOrCreate(from);
    const id = `3A${randomBytes(9).toString('hex').toUpperCase()}`;
    const timestamp = unixNow();
    const message = await build();
    remember(this.sent, `${from}:${id}`, { message, timestamp });
    this.sentLog.record(from, {
      id,
      to,
      text: textOf(message) ?? mediaOf(message)?.caption ?? '',
      timestamp,
    });
    await this.serialize(from, () => this.deliverMessage(contact, target, id, message, timestamp));
    return { id };
  }

  /** The contact reads a message it received: a read receipt goes to the device that sent it. */
  markRead(contact: string, id: string): void {
    const route = this.receiptRoutes.get(`${contact}:${id}`);
    if (!route) throw new SimulatorError('UNKNOWN_MESSAGE', `${contact} has no message ${id}`, 404);
    route.read = true;
    this.scheduleReceipt(route, id, 'read');
  }

  /** The contact reads everything unread it received from the number `from`; returns how many. */
  markReadFrom(contact: string, from: string): number {
    let count = 0;
    for (const [key, route] of this.receiptRoutes) {
      if (route.read || route.sender.phone !== from || !key.startsWith(`${contact}:`)) continue;
      route.read = true;
      this.scheduleReceipt(route, key.slice(contact.length + 1), 'read');
      count += 1;
    }
    return count;
  }

  /** A linked device's outgoing `<message>`: decrypt each copy for its virtual recipient, relay the rest. */
  async onDeviceMessage(connection: Connection, node: BinaryNode): Promise<void> {
    if (!connection.device) return;
    const { account: sender, companion } = connection.device;
    const { id, to: chatJid } = node.attrs;
    if (!id || !chatJid) return;
    this.counters.messagesIn += 1;
    const timestamp = unixNow();
    connection.sendNode({ tag: 'ack', attrs: { class: 'message', id, from: chatJid, t: String(timestamp) } });
    const participants = getBinaryNodeChildren(getBinaryNodeChild(node, 'participants'), 'to');
    const copies = participants.length
      ? participants.map((to) => ({ jid: to.attrs.jid, enc: getBinaryNodeChild(to, 'enc') }))
      : [{ jid: chatJid, enc: getBinaryNodeChild(node, 'enc') }];
    for (const { jid, enc } of copies) {
      const target = this.registry.resolve(jid);
      if (!target || !enc) continue;
      if (target.device !== 0) {
        this.relay(connection.device, node, target, enc);
        continue;
      }
      const message = await this.decrypt(target.account, sender.signalAddress(companion.id), enc);
      if (message === 'undecryptable') {
        // A contact that cannot decrypt asks the sending device for the message again, as
        // WhatsApp clients do; the device re-encrypts it (on a new session when keys are given).
        if (target.account !== sender) this.askAgain(target.account, connection.device, id);
        continue;
      }
      // A message key used already is a copy of a message decrypted before: dropped, as clients do.
      if (!message || message === 'duplicate') continue;
      if (target.account === sender) {
        if (message.deviceSentMessage) this.counters.phoneCopies += 1;
        continue;
      }
      const text = textOf(message);
      const media = mediaOf(message);
      const file = media && (await receiveMedia(media, this.media));
      if (media && !file) this.counters.decryptFailures += 1;
      if (file) target.account.inbox.record(id, sender.phone, media.caption ?? '', timestamp, file);
      else if (text !== undefined) target.account.inbox.record(id, sender.phone, text, timestamp);
      const route = { sender, device: companion.id, chatJid };
      remember(this.receiptRoutes, `${target.account.phone}:${id}`, route);
      this.scheduleReceipt(route, id, 'delivery');
    }
  }

  /** A linked device's `<receipt>`: acked; a retry request makes the contact resend on a new session. */
  async onDeviceReceipt(connection: Connection, node: BinaryNode): Promise<void> {
    const { id, to, type } = node.attrs;
    if (!id) return;
    connection.sendNode({
      tag: 'ack',
      attrs: { class: 'receipt', id, from: to ?? '', ...(type ? { type } : {}) },
    });
    // Any receipt answers the delivery: the server no longer keeps the message for this device.
    this.devices.answered(connection, [id, ...listedIds(node)]);
    if (type === 'retry' && to && connection.device) await this.resend(connection, node, to, id);
    if ((type === undefined || type === 'read') && to) {
      // One receipt may cover several messages: the first id, then a <list> of <item id>.
      const contact = this.registry.resolve(to)?.account;
      if (contact) {
        const ids = [id, ...listedIds(node)];
        this.sentLog.receipt(contact.phone, ids, type ? 'read' : 'delivery', unixNow());
      }
    }
  }

  /** Cancels receipts not sent yet. */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async deliverMessage(
    contact: Account,
    target: Account,
    id: string,
    message: proto.IMessage,
    timestamp: number,
  ) {
    const plaintext = encodeWAMessage(message);
    for (const companion of target.companions.values()) {
      const address = target.signalAddress(companion.id);
      if (!contact.primary.hasSession(address)) {
        const bundle = target.takeBundle(companion.id);
        if (!bundle) continue;
        await contact.primary.startSession(address, bundle);
      }
      const { type, ciphertext } = await contact.primary.encrypt(address, plaintext);
      this.deliver(target, companion.id, incomingNode(contact, id, timestamp, type, ciphertext, message));
    }
  }

  private async resend(connection: Connection, receipt: BinaryNode, to: string, id: string): Promise<void> {
    const contact = this.registry.resolve(to)?.account;
    const original = contact && this.sent.get(`${contact.phone}:${id}`);
    if (!contact || !original || !connection.device) return;
    const { account, companion } = connection.device;
    // Keys in the receipt come first; without them the contact fetches a fresh bundle, as WhatsApp clients do.
    const bundle = bundleFromRetry(receipt) ?? account.takeBundle(companion.id);
    if (!bundle) return;
    const address = account.signalAddress(companion.id);
    await this.serialize(contact.phone, async () => {
      await contact.primary.startSession(address, bundle);
      const plaintext = encodeWAMessage(original.message);
      const { type, ciphertext } = await contact.primary.encrypt(address, plaintext);
      const node = incomingNode(contact, id, original.timestamp, type, ciphertext, original.message);
      this.deliver(account, companion.id, node);
    });
  }

  /**
   * The contact's retry receipt for a message it could not decrypt: the first asks for the same
   * session again, later ones carry a fresh pre-key bundle so the device starts a new session.
   */
  private askAgain(contact: Account, from: { account: Account; companion: { id: number } }, id: string) {
    const key = `${contact.phone}:${id}`;
    const count = (this.retriesAsked.get(key) ?? 0) + 1;
    if (count > MAX_RETRY_REQUESTS) return;
    remember(this.retriesAsked, key, count);
    this.counters.retryRequests += 1;
    const t = String(unixNow());
    const content: BinaryNode[] = [
      { tag: 'retry', attrs: { count: String(count), id, t, v: '1' } },
      { tag: 'registration', attrs: {}, content: encodeUint(contact.primary.registrationId, 4) },
    ];
    if (count > 1) content.push(keysNode(contact.primary.takeBundle()));
    this.deliver(from.account, from.companion.id, {
      tag: 'receipt',
      attrs: { from: contact.pnJid(), id, t, type: 'retry' },
      content,
    });
  }

  private relay(
    from: { account: Account; companion: { id: number } },
    node: BinaryNode,
    to: ResolvedJid,
    enc: BinaryNode,
  ) {
    const attrs: Record<string, string> = {
      from: from.account.pnJid(from.companion.id),
      id: node.attrs.id ?? '',
      t: String(unixNow()),
      type: node.attrs.type ?? 'text',
    };
    // A copy for the sender's own other devices says whom the message was for.
    if (to.account === from.account) attrs.recipient = node.attrs.to ?? '';
    else attrs.notify = from.account.pushName;
    this.deliver(to.account, to.device, { tag: 'message', attrs, content: [enc] });
  }

  private deliver(account: Account, device: number, node: BinaryNode): void {
    this.devices.deliver(account, device, node);
    this.counters.messagesOut += 1;
  }

  private async decrypt(
    recipient: Account,
    senderAddress: string,
    enc: BinaryNode,
  ): Promise<proto.Message | 'duplicate' | 'undecryptable' | undefined> {
    const ciphertext = toBuffer(enc.content);
    const type = enc.attrs.type;
    if (!ciphertext || (type !== 'pkmsg' && type !== 'msg')) return undefined;
    try {
      return proto.Message.decode(await recipient.primary.decrypt(senderAddress, type, ciphertext));
    } catch (error) {
      this.counters.decryptFailures += 1;
      // libsignal's "Key used already or never filled": a counter this session has passed.
      return (error as Error).name === 'MessageCounterError' ? 'duplicate' : 'undecryptable';
    }
  }

  // Receipts wait: one that arrives within ~100 ms of the send is merged into Baileys' own upsert.
  private scheduleReceipt(route: ReceiptRoute, id: string, kind: 'delivery' | 'read'): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const attrs: Record<string, string> = { from: route.chatJid, id, t: String(unixNow()) };
      if (kind === 'read') attrs.type = 'read';
      this.devices.deliver(route.sender, route.device, { tag: 'receipt', attrs });
    }, this.receiptDelayMs);
    this.timers.add(timer);
  }

  // One contact's sends run one after another, so that sessions are created once and used in order.
  private serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (this.sendChains.get(key) ?? Promise.resolve()).then(task, task);
    const tail = run.catch(() => {});
    this.sendChains.set(key, tail);
    void tail.then(() => {
      if (this.sendChains.get(key) === tail) this.sendChains.delete(key);
    });
    return run;
  }
}

function incomingNode(
  contact: Account,
  id: string,
  timestamp: number,
  type: CipherType,
  ciphertext: Buffer,
  message: proto.IMessage,
): BinaryNode {
  const media = mediaOf(message);
  return {
    tag: 'message',
    attrs: {
      from: contact.pnJid(),
      sender_lid: contact.lidJid(),
      id,
      t: String(timestamp),
      type: media ? 'media' : 'text',
      notify: contact.pushName,
    },
    content: [
      {
        tag: 'enc',
        attrs: { v: '2', type, ...(media ? { mediatype: media.voiceNote ? 'ptt' : media.type } : {}) },
        content: ciphertext,
      },
    ],
  };
}

/** A retry receipt's `<keys>`, as WhatsApp clients attach them (read by `extractE2ESessionFromRetryReceipt`). */
function keysNode(bundle: PreKeyBundle): BinaryNode {
  const bytes = (tag: string, content: Uint8Array): BinaryNode => ({ tag, attrs: {}, content });
  return {
    tag: 'keys',
    attrs: {},
    content: [
      bytes('type', KEY_BUNDLE_TYPE),
      bytes('identity', bundle.identityKey),
      ...(bundle.preKey
        ? [
            {
              tag: 'key',
              attrs: {},
              content: [
                bytes('id', encodeUint(bundle.preKey.keyId, 3)),
                bytes('value', bundle.preKey.publicKey),
              ],
            },
          ]
        : []),
      {
        tag: 'skey',
        attrs: {},
        content: [
          bytes('id', encodeUint(bundle.signedPreKey.keyId, 3)),
          bytes('value', bundle.signedPreKey.publicKey),
          bytes('signature', bundle.signedPreKey.signature),
        ],
      },
    ],
  };
}

/** The further message ids one receipt covers (`<list><item id/>`). */
function listedIds(node: BinaryNode): string[] {
  return getBinaryNodeChildren(getBinaryNodeChild(node, 'list'), 'item')
    .map((i) => i.attrs.id)
    .filter((x): x is string => Boolean(x));
}

function bundleFromRetry(receipt: BinaryNode): PreKeyBundle | undefined {
  const keys = extractE2ESessionFromRetryReceipt(receipt);
  if (!keys) return undefined;
  const raw = (key: Uint8Array) => Buffer.from(key.subarray(1));
  return {
    registrationId: keys.registrationId,
    identityKey: raw(keys.identityKey),
    signedPreKey: {
      keyId: keys.signedPreKey.keyId,
      publicKey: raw(keys.signedPreKey.publicKey),
      signature: Buffer.from(keys.signedPreKey.signature),
    },
    ...(keys.preKey && { preKey: { keyId: keys.preKey.keyId, publicKey: raw(keys.preKey.publicKey) } }),
  };
}

function textOf(message: proto.IMessage): string | undefined {
  return message.conversation ?? message.extendedTextMessage?.text ?? undefined;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > MEMORY) map.delete(map.keys().next().value as string);
}
