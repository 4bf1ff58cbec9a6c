import { hkdfSync, randomBytes } from 'node:crypto';
import {
  aesDecryptCTR,
  aesDecryptGCM,
  aesEncryptCTR,
  Curve,
  derivePairingCodeKey,
  hmacSign,
  type KeyPair,
  proto,
  WA_ADV_ACCOUNT_SIG_PREFIX,
  WA_ADV_DEVICE_SIG_PREFIX,
} from '@whiskeysockets/baileys';
import { verifyXEdDSA } from '#runner/whatsapp-trust.ts';
import type { Account } from './accounts.ts';
import { SimulatorError } from './errors.ts';

/** What the phone reads from a companion's QR code. */
export interface ScannedQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
}

/**
 * Parses `[https://wa.me/settings/linked_devices#]ref,noise,identity,adv[,platform]` (rc14 adds
 * the URL prefix; older Baileys versions do not). Throws a 400 SimulatorError on anything else.
 */
export function parseQr(qr: string): ScannedQr {
  const parts = qr.slice(qr.indexOf('#') + 1).split(',');
  const [ref, noise, identity, adv] = parts;
  const noiseKey = Buffer.from(noise ?? '', 'base64');
  const identityKey = Buffer.from(identity ?? '', 'base64');
  const advSecret = Buffer.from(adv ?? '', 'base64');
  if (!ref || noiseKey.length !== 32 || identityKey.length !== 32 || advSecret.length !== 32) {
    throw new SimulatorError('INVALID_QR', 'not a WhatsApp linking QR code');
  }
  return { ref, noiseKey, identityKey, advSecret };
}

/**
 * The `<device-identity>` of a pair-success: the phone signs the companion's identity key with
 * the account key and MACs the result with the companion's ADV secret (the QR's, or the one both
 * sides derive in code pairing).
 */
export function signDeviceIdentity(
  account: Account,
  keyIndex: number,
  companionIdentity: Buffer,
  advSecret: Buffer,
): Uint8Array {
  const details = proto.ADVDeviceIdentity.encode({
    rawId: account.rawId,
    timestamp: Math.floor(Date.now() / 1000),
    keyIndex,
  }).finish();
  const accountSignature = Curve.sign(
    Buffer.from(account.accountKey.private),
    Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, companionIdentity]),
  );
  const signed = proto.ADVSignedDeviceIdentity.encode({
    details,
    accountSignatureKey: account.accountKey.public,
    accountSignature,
  }).finish();
  return proto.ADVSignedDeviceIdentityHMAC.encode({
    details: signed,
    hmac: hmacSign(signed, advSecret),
  }).finish();
}

/**
 * Checks the companion's answer (`pair-device-sign`): the details the phone signed, countersigned
 * by the companion's identity key over `06 01 || details || identity || accountKey`.
 */
export function isDeviceSignatureValid(
  answer: Uint8Array,
  account: Account,
  companionIdentity: Buffer,
): boolean {
  const signed = proto.ADVSignedDeviceIdentity.decode(answer);
  if (!signed.details?.length || !signed.deviceSignature?.length) return false;
  const message = Buffer.concat([
    WA_ADV_DEVICE_SIG_PREFIX,
    signed.details,
    companionIdentity,
    account.accountKey.public,
  ]);
  return verifyXEdDSA(companionIdentity, message, signed.deviceSignature);
}

/** Turns what a person types (`ABCD-EFGH`, any case) into the 8 characters Baileys derives keys from. */
export function normalizePairingCode(code: string): string {
  const normalized = code.replace(/[\s-]/g, '').toUpperCase();
  if (!/^[0-9A-Z]{8}$/.test(normalized)) {
    throw new SimulatorError('INVALID_PAIRING_CODE', 'a pairing code is 8 letters or digits');
  }
  return normalized;
}

/** `salt(32) | iv(16) | AES-CTR(PBKDF2(code, salt), key)`: how both sides wrap their ephemeral keys. */
export async function wrapWithCode(code: string, publicKey: Uint8Array): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const key = await derivePairingCodeKey(code, salt);
  return Buffer.concat([salt, iv, aesEncryptCTR(publicKey, key, iv)]);
}

/** Undoes {@link wrapWithCode}; a wrong code yields a wrong key, noticed only when the bundle fails. */
export async function unwrapWithCode(code: string, wrapped: Buffer): Promise<Buffer> {
  if (wrapped.length < 80) throw new SimulatorError('INVALID_PAIRING', 'wrapped key too short');
  const key = await derivePairingCodeKey(code, wrapped.subarray(0, 32));
  return aesDecryptCTR(wrapped.subarray(48, 80), key, wrapped.subarray(32, 48));
}

/**
 * The phone's side of `companion_finish`: opens the key bundle with the ephemeral agreement,
 * checks it names this account, and derives the ADV secret exactly as Baileys does.
 */
export function finishCodePairing(input: {
  account: Account;
  primaryEphemeral: KeyPair;
  companionEphemeral: Buffer;
  wrappedBundle: Buffer;
}): { companionIdentity: Buffer; advSecret: Buffer } {
  const { account, primaryEphemeral, companionEphemeral, wrappedBundle } = input;
  const ephemeralShared = Curve.sharedKey(Buffer.from(primaryEphemeral.private), companionEphemeral);
  const salt = wrappedBundle.subarray(0, 32);
  const key = hkdf(ephemeralShared, salt, 'link_code_pairing_key_bundle_encryption_key');
  let bundle: Buffer;
  try {
    bundle = aesDecryptGCM(wrappedBundle.subarray(44), key, wrappedBundle.subarray(32, 44), Buffer.alloc(0));
  } catch {
    throw new SimulatorError('WRONG_PAIRING_CODE', 'the pairing code does not match the companion');
  }
  const companionIdentity = bundle.subarray(0, 32);
  if (!bundle.subarray(32, 64).equals(Buffer.from(account.accountKey.public))) {
    throw new SimulatorError('WRONG_PAIRING_CODE', 'the key bundle names another phone');
  }
  const identityShared = Curve.sharedKey(Buffer.from(account.accountKey.private), companionIdentity);
  const advSecret = hkdf(
    Buffer.concat([ephemeralShared, identityShared, bundle.subarray(64, 96)]),
    Buffer.alloc(0),
    'adv_secret',
  );
  return { companionIdentity: Buffer.from(companionIdentity), advSecret };
}

function hkdf(material: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, salt, info, 32));
}
