import { Curve, generateSignalPubKey, type KeyPair, unpadRandomMax16 } from '@whiskeysockets/baileys';
import { ProtocolAddress, SessionBuilder, SessionCipher, SessionRecord, type SignalStorage } from 'libsignal';

/** One device's public keys as the server hands them out (32-byte keys, as on the wire). */
export interface PreKeyBundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  preKey?: { keyId: number; publicKey: Buffer };
}

export type CipherType = 'pkmsg' | 'msg';

interface SignalKeyPair {
  pubKey: Buffer;
  privKey: Buffer;
}

/** A party as JSON: keys in base64 (libsignal's 33-byte form), sessions as libsignal serializes them. */
export interface SignalPartyState {
  registrationId: number;
  identity: { pubKey: string; privKey: string };
  signedPreKey: { pubKey: string; privKey: string; signature: string };
  preKeys: Array<[number, string, string]>;
  nextPreKeyId: number;
  sessions: Record<string, unknown>;
}

const SIGNED_PRE_KEY_ID = 1;

/** Base64 of a key or any bytes, for state files. */
export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
export const fromB64 = (text: string): Buffer => Buffer.from(text, 'base64');

/**
 * A simulated Signal device (a virtual phone or contact): its identity, one signed pre-key,
 * one-time pre-keys minted on demand, and sessions with the linked devices, all in memory.
 */
export class SignalParty {
  readonly registrationId: number = Math.floor(Math.random() * 16380) + 1;
  private readonly identity: SignalKeyPair;
  private readonly signedPreKey: SignalKeyPair & { signature: Buffer };
  private readonly preKeys = new Map<number, SignalKeyPair>();
  private nextPreKeyId = 1;
  /**
   * Session records as libsignal serializes them: a decrypt works on a copy, and only a decrypt that
   * succeeded stores it back, as a client with a database does (a failed try steps the ratchet and
   * spends a message key before the MAC check; kept in memory, that broke the session for good).
   */
  private readonly sessions = new Map<string, unknown>();
  private readonly store: SignalStorage;

  /** `identity` defaults to a fresh key pair; a phone passes its ADV account key (they are one key). */
  constructor(identity: KeyPair = Curve.generateKeyPair(), saved?: SignalPartyState) {
    this.identity = toSignalPair(identity);
    if (saved) {
      this.registrationId = saved.registrationId;
      this.signedPreKey = {
        pubKey: fromB64(saved.signedPreKey.pubKey),
        privKey: fromB64(saved.signedPreKey.privKey),
        signature: fromB64(saved.signedPreKey.signature),
      };
      for (const [id, pubKey, privKey] of saved.preKeys) {
        this.preKeys.set(id, { pubKey: fromB64(pubKey), privKey: fromB64(privKey) });
      }
      this.nextPreKeyId = saved.nextPreKeyId;
      for (const [address, record] of Object.entries(saved.sessions)) {
        this.sessions.set(address, record);
      }
    } else {
      const signed = toSignalPair(Curve.generateKeyPair());
      this.signedPreKey = {
        ...signed,
        signature: Buffer.from(Curve.sign(this.identity.privKey, signed.pubKey)),
      };
    }
    this.store = this.createStore();
  }

  /** Rebuilds a party from {@link toState}, with its sessions, so a contact keeps its ratchets. */
  static fromState(saved: SignalPartyState): SignalParty {
    const identity = {
      public: fromB64(saved.identity.pubKey).subarray(1),
      private: fromB64(saved.identity.privKey),
    };
    return new SignalParty(identity, saved);
  }

  toState(): SignalPartyState {
    return {
      registrationId: this.registrationId,
      identity: { pubKey: b64(this.identity.pubKey), privKey: b64(this.identity.privKey) },
      signedPreKey: {
        pubKey: b64(this.signedPreKey.pubKey),
        privKey: b64(this.signedPreKey.privKey),
        signature: b64(this.signedPreKey.signature),
      },
      preKeys: [...this.preKeys].map(([id, pair]) => [id, b64(pair.pubKey), b64(pair.privKey)]),
      nextPreKeyId: this.nextPreKeyId,
      sessions: Object.fromEntries(this.sessions),
    };
  }

  /** The identity public key, 32 bytes. */
  get identityKey(): Buffer {
    return this.identity.pubKey.subarray(1);
  }

  /** A bundle with a fresh one-time pre-key, as a key fetch for this device would return. */
  takeBundle(): PreKeyBundle {
    const keyId = this.nextPreKeyId++;
    const preKey = toSignalPair(Curve.generateKeyPair());
    this.preKeys.set(keyId, preKey);
    return {
      registrationId: this.registrationId,
      identityKey: this.identityKey,
      signedPreKey: {
        keyId: SIGNED_PRE_KEY_ID,
        publicKey: this.signedPreKey.pubKey.subarray(1),
        signature: this.signedPreKey.signature,
      },
      preKey: { keyId, publicKey: preKey.pubKey.subarray(1) },
    };
  }

  hasSession(address: string): boolean {
    return this.loadSession(address)?.haveOpenSession() ?? false;
  }

  /** Starts a session towards `address` from its bundle (the sender side of X3DH). */
  async startSession(address: string, bundle: PreKeyBundle): Promise<void> {
    await new SessionBuilder(this.store, toAddress(address)).initOutgoing({
      registrationId: bundle.registrationId,
      identityKey: generateSignalPubKey(bundle.identityKey),
      signedPreKey: {
        keyId: bundle.signedPreKey.keyId,
        publicKey: generateSignalPubKey(bundle.signedPreKey.publicKey),
        signature: bundle.signedPreKey.signature,
      },
      preKey: bundle.preKey && {
        keyId: bundle.preKey.keyId,
        publicKey: generateSignalPubKey(bundle.preKey.publicKey),
      },
    } as Parameters<SessionBuilder['initOutgoing']>[0]);
  }

  /** Encrypts a padded WhatsApp message for `address`; a session must exist. */
  async encrypt(address: string, plaintext: Buffer): Promise<{ type: CipherType; ciphertext: Buffer }> {
    const { type, body } = await new SessionCipher(this.store, toAddress(address)).encrypt(plaintext);
    return { type: type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(body, 'binary') };
  }

  /** Decrypts what `address` sent and strips WhatsApp's random padding; throws when it cannot. */
  async decrypt(address: string, type: CipherType, ciphertext: Buffer): Promise<Uint8Array> {
    const cipher = new SessionCipher(this.store, toAddress(address));
    const padded =
      type === 'pkmsg'
        ? await cipher.decryptPreKeyWhisperMessage(ciphertext)
        : await cipher.decryptWhisperMessage(ciphertext);
    return unpadRandomMax16(padded);
  }

  private loadSession(address: string): SessionRecord | undefined {
    const stored = this.sessions.get(address);
    // libsignal's typings say Uint8Array; serialize() really gives (and deserialize takes) JSON.
    return stored === undefined ? undefined : SessionRecord.deserialize(stored as Uint8Array);
  }

  private createStore(): SignalStorage {
    return {
      loadSession: async (id) => this.loadSession(id),
      storeSession: async (id, record) => {
        this.sessions.set(id, record.serialize());
      },
      // Simulated parties trust on first use, as Baileys does.
      isTrustedIdentity: () => true,
      loadPreKey: async (id) => this.preKeys.get(Number(id)),
      removePreKey: (id) => {
        this.preKeys.delete(Number(id));
      },
      loadSignedPreKey: () => this.signedPreKey,
      getOurRegistrationId: () => this.registrationId,
      getOurIdentity: () => this.identity,
    };
  }
}

/** Addresses are `<name>.<device>`, the libsignal form; names are LIDs. */
function toAddress(address: string): ProtocolAddress {
  const dot = address.lastIndexOf('.');
  return new ProtocolAddress(address.slice(0, dot), Number(address.slice(dot + 1)));
}

function toSignalPair(pair: KeyPair): SignalKeyPair {
  return { pubKey: Buffer.from(generateSignalPubKey(pair.public)), privKey: Buffer.from(pair.private) };
}
