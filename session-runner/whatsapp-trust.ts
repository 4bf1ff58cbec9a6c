import { createPublicKey, verify } from 'node:crypto';
import { Curve, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { isLoopbackHost, whatsAppUrlProblem } from '#shared/loopback.ts';
import { checkServerIdentity, rememberVerified, ServerRefusedError } from './server-identity-check.ts';

export { isLoopbackHost } from '#shared/loopback.ts';

// Captured before anything can patch it: the root that real WhatsApp servers chain up to.
const WHATSAPP_ROOT_KEY = Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY);

/** Trust cannot be set up as asked (plain ws:// or a simulator root off loopback, a bad key, no patch). */
export class WhatsAppTrustError extends Error {
  override readonly name = 'WhatsAppTrustError';
}

export interface WhatsAppTrustOptions {
  /** The WebSocket URL the Baileys sockets of this process connect to. */
  waWebSocketUrl: string | URL;
  /**
   * The WhatsApp simulator's root public key (64 hex characters). Set it only when configuration
   * names the simulator; it is refused unless `waWebSocketUrl` is a loopback address.
   */
  simulatorRootKeyHex?: string | undefined;
  /** Clock for the certificates' validity dates, in milliseconds; `Date.now` by default. */
  now?: () => number;
  /** Told of every refused server before the socket closes (Baileys only reports "connection errored"). */
  onRefused?: (error: ServerRefusedError) => void;
}

/**
 * XEdDSA signature check (Signal's scheme over X25519 keys) that really fails on a wrong key or a
 * tampered message. Baileys rc14's `Curve.verify` only catches exceptions from libsignal, whose
 * `verifySignature` *returns* false, so it accepts every well-formed signature. This converts the
 * key to Ed25519, as curve25519-js does, and lets OpenSSL verify natively (about 100 times
 * faster than the pure-JS check, which matters when hundreds of sockets reconnect at once).
 */
export function verifyXEdDSA(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const montgomery = publicKey.length === 33 && publicKey[0] === 5 ? publicKey.subarray(1) : publicKey;
  if (montgomery.length !== 32 || signature.length !== 64) return false;
  const edwards = montgomeryToEdwards(montgomery);
  // XEdDSA keeps the sign of the Edwards x coordinate in the signature's top bit.
  edwards[31] = (edwards[31] ?? 0) | ((signature[63] ?? 0) & 0x80);
  const ed25519Signature = Buffer.from(signature);
  ed25519Signature[63] = (ed25519Signature[63] ?? 0) & 0x7f;
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, edwards]),
      format: 'der',
      type: 'spki',
    });
    return verify(null, message, key, ed25519Signature);
  } catch {
    return false;
  }
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const FIELD_PRIME = 2n ** 255n - 19n;

/** Edwards y = (u - 1) / (u + 1) mod p, little-endian; the top bit of u is ignored, as in curve25519-js. */
function montgomeryToEdwards(u: Uint8Array): Buffer {
  const x = littleEndianToBigInt(u) & ((1n << 255n) - 1n);
  const y = mod((x - 1n) * modPow(mod(x + 1n), FIELD_PRIME - 2n));
  const out = Buffer.alloc(32);
  let rest = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

function mod(value: bigint): bigint {
  const r = value % FIELD_PRIME;
  return r < 0n ? r + FIELD_PRIME : r;
}

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % FIELD_PRIME;
    b = (b * b) % FIELD_PRIME;
  }
  return result;
}

/**
 * Makes this process's Baileys check who it talks to: always replaces `Curve.verify` with
 * {@link verifyXEdDSA} (the Noise certificate chain and the ADV pairing signatures become real
 * checks), and has every handshake run {@link checkServerIdentity} (signatures, issuer serials,
 * leaf key = Noise static key, validity dates; before Baileys' own, weaker checks) through the
 * hook our patch adds to Baileys (`patches/@whiskeysockets+baileys+*.patch`). Trusts the
 * simulator's root instead of WhatsApp's only when a simulator key is given and the server is on
 * loopback; without one the real WhatsApp root is put back. Safe to call again; the last call wins. Throws
 * {@link WhatsAppTrustError} on a plain `ws://` URL that is not loopback, a simulator key for a
 * non-loopback URL, a malformed key, or a Baileys without the patch.
 */
export function installWhatsAppTrust({
  waWebSocketUrl,
  simulatorRootKeyHex,
  now = Date.now,
  onRefused,
}: WhatsAppTrustOptions): void {
  const urlProblem = whatsAppUrlProblem(waWebSocketUrl);
  if (urlProblem) throw new WhatsAppTrustError(`the WhatsApp WebSocket URL ${urlProblem}`);
  if (!('VERIFY_SERVER' in WA_CERT_DETAILS)) {
    // Without the hook nothing binds the certificate to the server's key: refuse to run at all.
    throw new WhatsAppTrustError(
      'Baileys is not patched (run `npx patch-package`): the server cannot be authenticated',
    );
  }
  // One memory of accepted signatures for our chain check and Baileys' own (same chain every connect).
  const rememberedVerify = rememberVerified(verifyXEdDSA);
  Curve.verify = rememberedVerify;
  WA_CERT_DETAILS.VERIFY_SERVER = (serverStatic, certChain) => {
    try {
      checkServerIdentity(serverStatic, certChain, {
        rootKey: WA_CERT_DETAILS.PUBLIC_KEY,
        rootSerial: WA_CERT_DETAILS.SERIAL,
        verify: rememberedVerify,
        now,
      });
    } catch (error) {
      if (error instanceof ServerRefusedError) onRefused?.(error);
      throw error;
    }
  };
  if (simulatorRootKeyHex === undefined) {
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(WHATSAPP_ROOT_KEY);
    return;
  }
  if (!/^[0-9a-fA-F]{64}$/.test(simulatorRootKeyHex)) {
    throw new WhatsAppTrustError('the simulator root key must be 32 bytes as 64 hex characters');
  }
  const url = new URL(waWebSocketUrl);
  if (!isLoopbackHost(url.hostname)) {
    throw new WhatsAppTrustError(
      `refusing to trust a simulator root key for ${url.host}: only a loopback WhatsApp URL may use the simulator`,
    );
  }
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(simulatorRootKeyHex, 'hex');
}
