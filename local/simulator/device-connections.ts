import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account, AccountRegistry } from './accounts.ts';
import type { Connection } from './connection.ts';

/** One linked device in `GET /stats`. */
export interface DeviceStats {
  jid: string;
  /** Logged-in connections of this device now (more than one only for an instant before a 440). */
  connections: number;
  /** Logins of this device while another connection of it was open. */
  replacements: number;
  /** Logins of this device since the simulator started, and when the last one happened (ms epoch). */
  logins: number;
  lastLoginAt?: number;
  /** Stanzas waiting for the device to come back online. */
  queued: number;
}

// A device that never comes back must not grow memory without bound.
const MAX_QUEUED_PER_DEVICE = 1000;

/**
 * Which connections are logged in as which device, and what waits for a device that is offline
 * or still passive: the server delivers to a device only after it has sent `<active/>`.
 * Like WhatsApp's offline queue, a `<message>` stays with the server until the device answers it
 * (a receipt of any type, or an ack), and a `<receipt>` until the device acks it: when the
 * connection it went out on closes first (a kill -9 of the device's process), it is delivered
 * again on the next login, marked `offline`.
 */
export class DeviceConnections {
  private readonly open = new Map<string, Connection[]>();
  private readonly active = new WeakSet<Connection>();
  private readonly queued = new Map<string, BinaryNode[]>();
  private readonly replacements = new Map<string, number>();
  private readonly logins = new Map<string, { count: number; lastAt: number }>();
  /** Messages and receipts written to a connection and not answered yet, per device, by {@link pendingKey}. */
  private readonly unanswered = new Map<string, Map<string, { node: BinaryNode; via: Connection }>>();
  private redeliveredCount = 0;

  /** Registers a login; returns the device's connections that were already open (to be replaced). */
  attach(connection: Connection, account: Account, device: number): Connection[] {
    const jid = account.pnJid(device);
    const previous = (this.open.get(jid) ?? []).filter((other) => other !== connection);
    if (previous.length) this.replacements.set(jid, (this.replacements.get(jid) ?? 0) + 1);
    this.logins.set(jid, { count: (this.logins.get(jid)?.count ?? 0) + 1, lastAt: Date.now() });
    this.open.set(jid, [...previous, connection]);
    return previous;
  }

  detach(connection: Connection): void {
    if (!connection.device) return;
    const jid = connection.device.account.pnJid(connection.device.companion.id);
    const remaining = (this.open.get(jid) ?? []).filter((other) => other !== connection);
    if (remaining.length) this.open.set(jid, remaining);
    else this.open.delete(jid);
    // What the device never answered on this connection goes out again, before anything newer.
    const pending = this.unanswered.get(jid);
    const again = [...(pending?.values() ?? [])].filter((p) => p.via === connection).map((p) => p.node);
    for (const node of again) pending?.delete(pendingKey(node) ?? '');
    if (!again.length) return;
    this.redeliveredCount += again.length;
    const target = this.target(jid);
    const left = again.filter((node) => !(target && this.send(jid, target, node)));
    if (left.length) this.queued.set(jid, [...left.map(offline), ...(this.queued.get(jid) ?? [])]);
  }

  /** The device answered message `id` (receipt or ack): the server forgets it. */
  answered(connection: Connection, ids: string[]): void {
    if (!connection.device) return;
    const pending = this.unanswered.get(connection.device.account.pnJid(connection.device.companion.id));
    for (const id of ids) pending?.delete(id);
  }

  /** A device's `<ack>`: of a message (e.g. a nack after a failed decrypt) or of a receipt. */
  acked(connection: Connection, ack: BinaryNode): void {
    const key = pendingKey({ tag: ack.attrs.class ?? '', attrs: ack.attrs });
    if (key) this.answered(connection, [key]);
  }

  /** Messages delivered again because the connection they went out on closed unanswered. */
  get redelivered(): number {
    return this.redeliveredCount;
  }

  /** The device left passive mode: returns (and forgets) what queued up while it was away. */
  activate(connection: Connection): BinaryNode[] {
    this.active.add(connection);
    if (!connection.device) return [];
    const jid = connection.device.account.pnJid(connection.device.companion.id);
    const backlog = this.queued.get(jid) ?? [];
    this.queued.delete(jid);
    // The caller writes the backlog to this connection: it waits for answers like any delivery.
    for (const node of backlog) this.track(jid, connection, node);
    return backlog;
  }

  /** Sends to the device's newest active connection, or queues it for the next login. */
  deliver(account: Account, device: number, node: BinaryNode): 'sent' | 'queued' {
    const jid = account.pnJid(device);
    const target = this.target(jid);
    if (target && this.send(jid, target, node)) return 'sent';
    const backlog = this.queued.get(jid) ?? [];
    if (backlog.length < MAX_QUEUED_PER_DEVICE) backlog.push(offline(node));
    this.queued.set(jid, backlog);
    return 'queued';
  }

  private target(jid: string): Connection | undefined {
    return (this.open.get(jid) ?? []).filter((c) => this.active.has(c) && c.isOpen).at(-1);
  }

  private send(jid: string, connection: Connection, node: BinaryNode): boolean {
    if (!connection.sendNode(node)) return false;
    this.track(jid, connection, node);
    return true;
  }

  private track(jid: string, via: Connection, node: BinaryNode): void {
    const id = pendingKey(node);
    if (!id) return;
    const pending = this.unanswered.get(jid) ?? new Map();
    pending.delete(id);
    pending.set(id, { node, via });
    // A device that never answers must not grow memory without bound.
    if (pending.size > MAX_QUEUED_PER_DEVICE) pending.delete(pending.keys().next().value as string);
    this.unanswered.set(jid, pending);
  }

  /** Every logged-in connection of the account's companions. */
  connectionsOf(account: Account): Connection[] {
    return [...account.companions.keys()].flatMap((device) => this.open.get(account.pnJid(device)) ?? []);
  }

  /** A removed device keeps no backlog. */
  forget(account: Account, device: number): void {
    this.queued.delete(account.pnJid(device));
    this.unanswered.delete(account.pnJid(device));
  }

  stats(registry: AccountRegistry): DeviceStats[] {
    const devices: DeviceStats[] = [];
    for (const account of registry.all()) {
      for (const device of account.companions.keys()) {
        const jid = account.pnJid(device);
        devices.push({
          jid,
          connections: this.open.get(jid)?.length ?? 0,
          replacements: this.replacements.get(jid) ?? 0,
          logins: this.logins.get(jid)?.count ?? 0,
          lastLoginAt: this.logins.get(jid)?.lastAt,
          queued: this.queued.get(jid)?.length ?? 0,
        });
      }
    }
    return devices;
  }
}

const offline = (node: BinaryNode): BinaryNode => ({ ...node, attrs: { ...node.attrs, offline: '1' } });

/** What the device's answer names: a message by its id, a receipt by id and type (one message gets several). */
const pendingKey = (node: BinaryNode): string | undefined => {
  const { id, type } = node.attrs;
  if (!id) return undefined;
  if (node.tag === 'message') return id;
  if (node.tag === 'receipt') return `receipt:${id}:${type ?? ''}`;
  return undefined;
};
