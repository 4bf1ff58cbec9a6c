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
  /** Stanzas waiting for the device to come back online. */
  queued: number;
}

// A device that never comes back must not grow memory without bound.
const MAX_QUEUED_PER_DEVICE = 1000;

/**
 * Which connections are logged in as which device, and what waits for a device that is offline
 * or still passive: the server delivers to a device only after it has sent `<active/>`.
 */
export class DeviceConnections {
  private readonly open = new Map<string, Connection[]>();
  private readonly active = new WeakSet<Connection>();
  private readonly queued = new Map<string, BinaryNode[]>();
  private readonly replacements = new Map<string, number>();

  /** Registers a login; returns the device's connections that were already open (to be replaced). */
  attach(connection: Connection, account: Account, device: number): Connection[] {
    const jid = account.pnJid(device);
    const previous = (this.open.get(jid) ?? []).filter((other) => other !== connection);
    if (previous.length) this.replacements.set(jid, (this.replacements.get(jid) ?? 0) + 1);
    this.open.set(jid, [...previous, connection]);
    return previous;
  }

  detach(connection: Connection): void {
    if (!connection.device) return;
    const jid = connection.device.account.pnJid(connection.device.companion.id);
    const remaining = (this.open.get(jid) ?? []).filter((other) => other !== connection);
    if (remaining.length) this.open.set(jid, remaining);
    else this.open.delete(jid);
  }

  /** The device left passive mode: returns (and forgets) what queued up while it was away. */
  activate(connection: Connection): BinaryNode[] {
    this.active.add(connection);
    if (!connection.device) return [];
    const jid = connection.device.account.pnJid(connection.device.companion.id);
    const backlog = this.queued.get(jid) ?? [];
    this.queued.delete(jid);
    return backlog;
  }

  /** Sends to the device's newest active connection, or queues it for the next login. */
  deliver(account: Account, device: number, node: BinaryNode): 'sent' | 'queued' {
    const jid = account.pnJid(device);
    const target = (this.open.get(jid) ?? []).filter((c) => this.active.has(c) && c.isOpen).at(-1);
    if (target?.sendNode(node)) return 'sent';
    const backlog = this.queued.get(jid) ?? [];
    if (backlog.length < MAX_QUEUED_PER_DEVICE) {
      backlog.push({ ...node, attrs: { ...node.attrs, offline: '1' } });
    }
    this.queued.set(jid, backlog);
    return 'queued';
  }

  /** Every logged-in connection of the account's companions. */
  connectionsOf(account: Account): Connection[] {
    return [...account.companions.keys()].flatMap((device) => this.open.get(account.pnJid(device)) ?? []);
  }

  /** A removed device keeps no backlog. */
  forget(account: Account, device: number): void {
    this.queued.delete(account.pnJid(device));
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
          queued: this.queued.get(jid)?.length ?? 0,
        });
      }
    }
    return devices;
  }
}
