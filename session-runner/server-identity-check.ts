import { proto } from '@whiskeysockets/baileys';
import { AppError } from '#shared/errors.ts';

/** Why the runner refused a WhatsApp server during the Noise handshake. */
export type ServerRefusalCode =
  | 'MALFORMED_CERTIFICATE'
  | 'UNTRUSTED_ROOT'
  | 'BAD_SIGNATURE'
  | 'ISSUER_SERIAL_MISMATCH'
  | 'LEAF_KEY_MISMATCH'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_NOT_YET_VALID';

/** The server did not prove it is the WhatsApp server the runner trusts; the socket is closed. */
export class ServerRefusedError extends AppError {
  constructor(
    override readonly code: ServerRefusalCode,
    message: string,
  ) {
    super('unauthorized', code, `server certificate refused: ${message}`);
  }
}

export interface ServerIdentityCheck {
  /** The root public key the intermediate must be signed by (32 bytes). */
  rootKey: Uint8Array;
  /** The serial of that root: the intermediate's issuer serial (0 for WhatsApp's). */
  rootSerial: number;
  /** XEdDSA verification that really fails (never Baileys rc14's `Curve.verify`). */
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  /** Current time in milliseconds. */
  now: () => number;
}

// A freshly issued certificate must not be refused because this machine's clock is a little behind.
const CLOCK_SKEW_S = 300;

/**
 * Checks what a server presents in its Noise hello, the way whatsmeow does and Baileys does not:
 * root → intermediate → leaf signatures, each certificate's issuer serial equal to its issuer's
 * serial, the leaf's key equal to the server's Noise static key (so a copied genuine chain is
 * useless without the leaf's private key), and each certificate inside its validity dates (a
 * date the certificate does not state is not checked). Throws {@link ServerRefusedError}.
 */
export function checkServerIdentity(
  serverStatic: Uint8Array,
  certChain: Uint8Array,
  trust: ServerIdentityCheck,
): void {
  const { intermediate, leaf } = decode(() => proto.CertChain.decode(certChain));
  const intermediateBytes = intermediate?.details;
  const leafBytes = leaf?.details;
  if (!intermediateBytes?.length || !leafBytes?.length || !intermediate?.signature || !leaf?.signature) {
    throw new ServerRefusedError('MALFORMED_CERTIFICATE', 'the chain lacks a certificate or a signature');
  }
  const intermediateDetails = decode(() =>
    proto.CertChain.NoiseCertificate.Details.decode(intermediateBytes),
  );
  const leafDetails = decode(() => proto.CertChain.NoiseCertificate.Details.decode(leafBytes));
  const { verify } = trust;
  if (!verify(trust.rootKey, intermediateBytes, intermediate.signature)) {
    throw new ServerRefusedError('UNTRUSTED_ROOT', 'the intermediate is not signed by the trusted root');
  }
  if ((intermediateDetails.issuerSerial ?? 0) !== trust.rootSerial) {
    throw new ServerRefusedError(
      'ISSUER_SERIAL_MISMATCH',
      "the intermediate's issuer is not the trusted root",
    );
  }
  if (intermediateDetails.key?.length !== 32 || !verify(intermediateDetails.key, leafBytes, leaf.signature)) {
    throw new ServerRefusedError('BAD_SIGNATURE', 'the leaf is not signed by the intermediate');
  }
  if ((leafDetails.issuerSerial ?? 0) !== (intermediateDetails.serial ?? 0)) {
    throw new ServerRefusedError(
      'ISSUER_SERIAL_MISMATCH',
      "the leaf's issuer serial is not the intermediate's serial",
    );
  }
  if (!leafDetails.key || !Buffer.from(leafDetails.key).equals(Buffer.from(serverStatic))) {
    throw new ServerRefusedError('LEAF_KEY_MISMATCH', "the leaf's key is not the server's Noise static key");
  }
  const nowS = Math.floor(trust.now() / 1000);
  checkDates('intermediate', intermediateDetails, nowS);
  checkDates('leaf', leafDetails, nowS);
}

type Verify = ServerIdentityCheck['verify'];
// Bounded: the server chain is a handful of triples; a full memory starts over.
const REMEMBERED_MAX = 64;

/**
 * `verify`, answering from memory for an exact (key, message, signature) it accepted before.
 * A signature check is a pure function of those three, and every connect of every session presents
 * the same server chain (checked twice per connect: here and again by Baileys), so the XEdDSA
 * verification in JS runs once per chain instead of four times per connect. Refusals are never
 * remembered.
 */
export function rememberVerified(verify: Verify): Verify {
  const accepted = new Set<string>();
  return (publicKey, message, signature) => {
    // Lengths first, so no two different triples concatenate to the same key.
    const key = `${publicKey.length}.${message.length}.${Buffer.concat([publicKey, message, signature]).toString('base64')}`;
    if (accepted.has(key)) return true;
    if (!verify(publicKey, message, signature)) return false;
    if (accepted.size >= REMEMBERED_MAX) accepted.clear();
    accepted.add(key);
    return true;
  };
}

function checkDates(which: string, details: proto.CertChain.NoiseCertificate.IDetails, nowS: number): void {
  const notBefore = seconds(details.notBefore);
  const notAfter = seconds(details.notAfter);
  if (notBefore !== undefined && nowS + CLOCK_SKEW_S < notBefore) {
    throw new ServerRefusedError('CERTIFICATE_NOT_YET_VALID', `the ${which} certificate is not valid yet`);
  }
  if (notAfter !== undefined && nowS - CLOCK_SKEW_S > notAfter) {
    throw new ServerRefusedError('CERTIFICATE_EXPIRED', `the ${which} certificate has expired`);
  }
}

/** Unix seconds from a protobuf uint64 (a number or a Long); absent or 0 means "not stated". */
function seconds(value: number | { toString(): string } | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value.toString());
  return n > 0 ? n : undefined;
}

function decode<T>(read: () => T): T {
  try {
    return read();
  } catch {
    throw new ServerRefusedError('MALFORMED_CERTIFICATE', 'the certificate chain does not decode');
  }
}
