import { createHash, randomInt } from 'node:crypto';
import { Curve, jidEncode, type KeyPair } from '@whiskeysockets/baileys';
import { type JidParts, parseUserJid } from './binary.ts';
import { Inbox, type InboxEntry } from './inbox.ts';
import type { PreKeyUpload, SignedPreKey } from './key-bundles.ts';
import { b64, fromB64, type PreKeyBundle, SignalParty, type SignalPartyState } from './signal-party.ts';

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

/** A companion as JSON: keys in base64. */
export interface CompanionState {
  id: number;
  keyIndex: number;
  noiseKey: string;
  identityKey: string;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: string; signature: string };
  preKeys: Array<[number, string]>;
}

/** An account as JSON, for the simulator's state file. */
export interface AccountState {
  phone: string;
  lid: string;
  pushName: string;
  accountKey: { public: string; private: string };
  rawId: number;
  nextDeviceId: number;
  nextKeyIndex: number;
  companions: CompanionState[];
  primary: SignalPartyState;
  inbox: InboxEntry[];
}

const companionToState = (c: Companion): CompanionState => ({
  id: c.id,
  keyIndex: c.keyIndex,
  noiseKey: b64(c.noiseKey),
  identityKey: b64(c.identityKey),
  registrationId: c.registrationId,
  signedPreKey: {
    keyId: c.signedPreKey.keyId,
    publicKey: b64(c.signedPreKey.publicKey),
    signature: b64(c.signedPreKey.signature),
  },
  preKeys: [...c.preKeys].map(([id, key]) => [id, b64(key)]),
});

const companionFromState = (c: CompanionState): Companion => ({
  id: c.id,
  keyIndex: c.keyIndex,
  noiseKey: fromB64(c.noiseKey),
  identityKey: fromB64(c.identityKey),
  registrationId: c.registrationId,
  signedPreKey: {
    keyId: c.signedPreKey.keyId,
    publicKey: fromB64(c.signedPreKey.publicKey),
    signature: fromB64(c.signedPreKey.signature),
  },
  preKeys: new Map(c.preKeys.map(([id, key]) => [id, fromB64(key)])),
});

/**
 * A WhatsApp account: a number with a LID, a primary device (the virtual phone, device 0, whose
 * Signal identity is also the ADV account key) and its companion devices. A virtual contact is
 * an account too; it just has no companions.
 */
export class Account {
  /** The ADV account key, which signs every companion's device identity. */
  readonly accountKey: KeyPair;
  readonly primary: SignalParty;
  /** The ADV account id that every device identity of this account carries. */
  readonly rawId: number;
  readonly companions = new Map<number, Companion>();
  readonly inbox: Inbox;
  private nextDeviceId = 1;
  private nextKeyIndex = 1;

  /** A new account with fresh keys, or, given `saved`, the account as it was persisted. */
  constructor(
    readonly phone: string,
    readonly lid: string,
    readonly pushName: string,
    saved?: AccountState,
  ) {
    this.accountKey = saved
      ? { public: fromB64(saved.accountKey.public), private: fromB64(saved.accountKey.private) }
      : Curve.generateKeyPair();
    this.primary = saved ? SignalParty.fromState(saved.primary) : new SignalParty(this.accountKey);
    this.rawId = saved?.rawId ?? randomInt(1, 2 ** 31);
    this.inbox = new Inbox(saved?.inbox);
    if (saved) {
      this.nextDeviceId = saved.nextDeviceId;
      this.nextKeyIndex = saved.nextKeyIndex;
      for (const c of saved.companions) this.companions.set(c.id, companionFromState(c));
    }
  }

  /** Everything needed to rebuild this account after a restart (private keys included). */
  toState(): AccountState {
    return {
      phone: this.phone,
      lid: this.lid,
      pushName: this.pushName,
      accountKey: { public: b64(this.accountKey.public), private: b64(this.accountKey.private) },
      rawId: this.rawId,
      nextDeviceId: this.nextDeviceId,
      nextKeyIndex: this.nextKeyIndex,
      companions: [...this.companions.values()].map(companionToState),
      primary: this.primary.toState(),
      inbox: this.inbox.list(),
    };
  }

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
 * counters: persisting the simulator means persisting this object only (`toState`, `restore`).
 */
export class AccountRegistry {
  private readonly byPhone = new Map<string, Account>();
  private readonly byLid = new Map<string, Account>();

  /** Puts back the accounts of a state file (on start, before any connection). */
  restore(states: AccountState[]): void {
    for (const state of states) {
      const account = new Account(state.phone, state.lid, state.pushName, state);
      this.byPhone.set(account.phone, account);
      this.byLid.set(account.lid, account);
    }
  }

  toState(): AccountState[] {
    return [...this.byPhone.values()].map((account) => account.toState());
  }

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
