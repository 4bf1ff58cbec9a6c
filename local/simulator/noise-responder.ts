import { createHash, hkdfSync } from 'node:crypto';
import { aesDecryptGCM, aesEncryptGCM, NOISE_MODE, proto } from '@whiskeysockets/baileys';
import type { ServerIdentity } from './certificate-chain.ts';
import { TransportCipher } from './frame-codec.ts';
import { type AgreementKey, agree, agreementKeyOf, generateAgreementKey } from './x25519.ts';

// The server's static key as a key object, imported once per identity instead of per agreement.
const staticKeys = new WeakMap<ServerIdentity, AgreementKey>();
const staticKeyOf = (identity: ServerIdentity): AgreementKey => {
  let key = staticKeys.get(identity);
  if (!key) {
    key = agreementKeyOf(identity.staticKeyPair.private);
    staticKeys.set(identity, key);
  }
  return key;
};

/** What the client proved at the end of the handshake. */
export interface HandshakeResult {
  /** The client's Noise static key: the companion's `noiseKey`, used to recognise a device at login. */
  clientStatic: Buffer;
  payload: proto.ClientPayload;
  transport: TransportCipher;
}

/**
 * The responder half of WhatsApp's Noise XX handshake (mirror of Baileys' `noise-handler.js`):
 * one instance per connection, used for the two handshake messages only.
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private readonly ephemeral = generateAgreementKey();

  constructor(
    private readonly identity: ServerIdentity,
    introHeader: Buffer,
  ) {
    // The mode name is exactly 32 bytes, so it is used as is (no hashing), as the client does.
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode;
    this.salt = mode;
    this.key = mode;
    this.authenticate(introHeader);
  }

  /** Answers `clientHello` with the encoded `serverHello` (ephemeral, encrypted static, encrypted chain). */
  respondToHello(hello: proto.HandshakeMessage.IClientHello): Uint8Array {
    const clientEphemeral = requireKey(hello.ephemeral, 'client ephemeral');
    this.authenticate(clientEphemeral);
    this.clientEphemeral = clientEphemeral;
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(agree(this.ephemeral, clientEphemeral));
    const encryptedStatic = this.encrypt(this.identity.staticKeyPair.public);
    this.mixIntoKey(agree(staticKeyOf(this.identity), clientEphemeral));
    const payload = this.encrypt(this.identity.certChain);
    return proto.HandshakeMessage.encode({
      serverHello: { ephemeral: this.ephemeral.public, static: encryptedStatic, payload },
    }).finish();
  }

  /** Reads `clientFinish`: the client's static key and its `ClientPayload`; throws on any tampering. */
  finish(clientFinish: proto.HandshakeMessage.IClientFinish): HandshakeResult {
    if (!this.clientEphemeral) throw new Error('client finish before client hello');
    const clientStatic = this.decrypt(requireKey(clientFinish.static, 'client static'));
    this.mixIntoKey(agree(this.ephemeral, clientStatic));
    const payload = proto.ClientPayload.decode(
      this.decrypt(requireKey(clientFinish.payload, 'client payload')),
    );
    const keys = Buffer.from(hkdfSync('sha256', Buffer.alloc(0), this.salt, Buffer.alloc(0), 64));
    // The client writes with the first half and reads with the second; the server mirrors that.
    const transport = new TransportCipher(keys.subarray(32, 64), keys.subarray(0, 32));
    return { clientStatic, payload, transport };
  }

  private clientEphemeral: Buffer | undefined;

  private authenticate(data: Uint8Array): void {
    this.hash = createHash('sha256').update(this.hash).update(data).digest();
  }

  private mixIntoKey(material: Uint8Array): void {
    const out = Buffer.from(hkdfSync('sha256', material, this.salt, Buffer.alloc(0), 64));
    this.salt = out.subarray(0, 32);
    this.key = out.subarray(32, 64);
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const ciphertext = aesEncryptGCM(plaintext, this.key, handshakeIv(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return ciphertext;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const plaintext = aesDecryptGCM(ciphertext, this.key, handshakeIv(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return plaintext;
  }
}

function handshakeIv(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
}

function requireKey(value: Uint8Array | null | undefined, what: string): Buffer {
  if (!value?.length) throw new Error(`handshake without ${what}`);
  return Buffer.from(value);
}
