import { createHash, randomInt } from 'node:crypto';
import { Curve, jidEncode, type KeyPair } from '@whiskeysockets/baileys';
import { type JidParts, parseUserJid } from './binary.ts';
import { Inbox } from './inbox.ts';
import type { PreKeyUpload, SignedPreKey } from './key-bundles.ts';
import { type PreKeyBundle, SignalParty } from './signal-party.ts';

/** A linked (companion) device of an account, as the server knows it after pairing. */
export interface Companion {
  readonly id: number;
  readonly keyIndex: number;
  /** The Noise static key the device logs in with; a login with any other key is refused. */
  readonly noiseKey: Buffer;
  readonly identityKey: Buffer;
  registrationId: number;
  signedPreKey: SignedPreKey;
  /** Uploaded one-time pre-keys; a key fetch hands out and removes one. */
  readonly preKeys: Map<number, Buffer>;
}

export type NewCompanion = Pick<Companion, 'noiseKey' | 'identityKey' | 'registrationId' | 'signedPreKey'>;

/**
 * A WhatsApp account: a number with a LID, a primary device (the virtual phone, device 0, whose
 * Signal identity is also the ADV account key) and its companion devices. A virtual contact is
 * an account too; it just has no companions.
 */
export class Account {
  /** The ADV account key, which signs every companion's device identity. */
  readonly accountKey: KeyPair = Curve.generateKeyPair();
  readonly primary = new SignalParty(this.accountKey);
  /** The ADV account id that every device identity of this account carries. */
  readonly rawId = randomInt(1, 2 ** 31);
  readonly companions = new Map<number, Companion>();
  readonly inbox = new Inbox();
  private nextDeviceId = 1;
  private nextKeyIndex = 1;

  constructor(
    readonly phone: string,
    readonly lid: string,
    readonly pushName: string,
  ) {}

  pnJid(device = 0): string {
    return jidEncode(this.phone, 's.whatsapp.net', device || undefined);
  }

  lidJid(device = 0): string {
    return jidEncode(this.lid, 'lid', device || undefined);
  }

  /** The libsignal address of one of this account's devices, the same whether a peer used PN or LID. */
  signalAddress(device: number): string {
    return `${this.lid}.${device}`;
  }

  /** Reserves the device number and ADV key index of the next companion. */
  reserveDevice(): { id: number; keyIndex: number } {
    return { id: this.nextDeviceId++, keyIndex: this.nextKeyIndex++ };
  }

  addCompanion(slot: { id: number; keyIndex: number }, keys: NewCompanion): Companion {
    const companion: Companion = { ...slot, ...keys, preKeys: new Map() };
    this.companions.set(slot.id, companion);
    return companion;
  }

  /** Stores a pre-key upload; the identity must be the one the device paired with. */
  storeUpload(device: number, upload: PreKeyUpload): boolean {
    const companion = this.companions.get(device);
    if (!companion?.identityKey.equals(upload.identityKey)) return false;
    companion.registrationId = upload.registrationId;
    companion.signedPreKey = upload.signedPreKey;
    for (const [id, key] of upload.preKeys) companion.preKeys.set(id, key);
    return true;
  }

  /** A key fetch for one device: the phone mints a pre-key, a companion gives up an uploaded one. */
  takeBundle(device: number): PreKeyBundle | undefined {
    if (device === 0) return this.primary.takeBundle();
    const companion = this.companions.get(device);
    if (!companion) return undefined;
    const bundle: PreKeyBundle = {
      registrationId: companion.registrationId,
      identityKey: companion.identityKey,
      signedPreKey: companion.signedPreKey,
    };
    const next = companion.preKeys.entries().next();
    if (!next.done) {
      const [keyId, publicKey] = next.value;
      companion.preKeys.delete(keyId);
      bundle.preKey = { keyId, publicKey };
    }
    return bundle;
  }
}

/** Where a JID points: an account and one of its devices. */
export interface ResolvedJid extends JidParts {
  account: Account;
}

/**
 * Every account the simulator knows, by number and by LID. Kept apart from connections and
 * counters, so that persisting it later means persisting this object only.
 */
export class AccountRegistry {
  private readonly byPhone = new Map<string, Account>();
  private readonly byLid = new Map<string, Account>();

  get(phone: string): Account | undefined {
    return this.byPhone.get(phone);
  }

  /** Accounts exist on first use, as any number a test names is a WhatsApp user. */
  getOrCreate(phone: string): Account {
    const known = this.byPhone.get(phone);
    if (known) return known;
    const account = new Account(phone, this.allocateLid(phone), `Contact ${phone}`);
    this.byPhone.set(phone, account);
    this.byLid.set(account.lid, account);
    return account;
  }

  /** Resolves a PN or LID user JID (with or without device); unknown LIDs are undefined. */
  resolve(jid: string | undefined): ResolvedJid | undefined {
    const parts = parseUserJid(jid);
    if (!parts) return undefined;
    const account = parts.server === 'lid' ? this.byLid.get(parts.user) : this.pnAccount(parts.user);
    return account && { ...parts, account };
  }

  all(): IterableIterator<Account> {
    return this.byPhone.values();
  }

  private pnAccount(user: string): Account | undefined {
    return /^\d{5,20}$/.test(user) ? this.getOrCreate(user) : undefined;
  }

  // Derived from the number so a restarted simulator hands out the same LIDs; 15 digits like real ones.
  private allocateLid(phone: string): string {
    for (let salt = 0; ; salt++) {
      const digest = createHash('sha256').update(`lid:${salt}:${phone}`).digest();
      const lid = String(100_000_000_000_000n + (digest.readBigUInt64BE(0) % 900_000_000_000_000n));
      if (!this.byLid.has(lid) && !this.byPhone.has(lid)) return lid;
    }
  }
}
