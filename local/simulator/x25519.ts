import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

// X25519 for the simulator's side of the Noise handshake, with Node's key objects: Baileys'
// `Curve.sharedKey` (libsignal) imports both keys from DER for every agreement, and OpenSSL 3's
// DER import of a private key costs ~0.7 ms; three agreements per connect were 750 ms of the bench
// process's CPU in a 200-session restore. An ephemeral key made here is never imported; a public
// key is imported as a JWK (raw bytes, ~0.1 ms); the static private key is imported once.

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** An X25519 private key ready for agreements, and its raw 32-byte public key. */
export interface AgreementKey {
  privateKey: KeyObject;
  public: Buffer;
}

/** A fresh X25519 key pair (the handshake's ephemeral). */
export const generateAgreementKey = (): AgreementKey => {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, public: rawPublic(publicKey) };
};

/** The key object of a raw 32-byte X25519 private key (imported once, used for every agreement). */
export const agreementKeyOf = (privateKey: Uint8Array): AgreementKey => {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey: key, public: rawPublic(createPublicKey(key)) };
};

/** The X25519 shared secret of `own` and a raw 32-byte public key (as `Curve.sharedKey`). */
export const agree = (own: AgreementKey, publicKey: Uint8Array): Buffer => {
  if (publicKey.length !== 32) throw new Error('an X25519 public key is 32 bytes');
  const peer = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
  return diffieHellman({ privateKey: own.privateKey, publicKey: peer });
};

const rawPublic = (key: KeyObject): Buffer =>
  Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
