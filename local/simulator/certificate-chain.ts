import { Curve, type KeyPair, proto } from '@whiskeysockets/baileys';

/** What the server proves in the Noise handshake: a static key and the chain that vouches for it. */
export interface ServerIdentity {
  /** The root the client must trust (Baileys' `WA_CERT_DETAILS.PUBLIC_KEY`). */
  rootPublicKey: Buffer;
  /** The Noise static key pair; the leaf certificate names its public half. */
  staticKeyPair: KeyPair;
  /** An encoded `CertChain{intermediate, leaf}`, sent encrypted in the server hello. */
  certChain: Uint8Array;
}

/**
 * A deliberate defect in the presented chain, so tests can prove a client refuses it. Every
 * flawed chain is still correctly signed by the root: only the one named property is wrong.
 * - `leaf-key-mismatch`: the leaf names another key than the server's Noise static key (what
 *   someone replaying WhatsApp's public chain with their own static key presents);
 * - `leaf-issuer-serial` / `intermediate-issuer-serial`: the certificate's issuer serial is not its
 *   issuer's serial;
 * - `leaf-expired` / `leaf-not-yet-valid` / `intermediate-expired`: outside the validity dates.
 */
export type CertificateFlaw =
  | 'leaf-key-mismatch'
  | 'leaf-issuer-serial'
  | 'intermediate-issuer-serial'
  | 'leaf-expired'
  | 'leaf-not-yet-valid'
  | 'intermediate-expired';

export const CERTIFICATE_FLAWS: readonly CertificateFlaw[] = [
  'leaf-key-mismatch',
  'leaf-issuer-serial',
  'intermediate-issuer-serial',
  'leaf-expired',
  'leaf-not-yet-valid',
  'intermediate-expired',
];

export interface CertificateOptions {
  /** A defect to present; none by default (a correct chain, valid now). */
  flaw?: CertificateFlaw | undefined;
  /** Clock the validity dates are set from, in milliseconds; `Date.now` by default. */
  now?: () => number;
}

// Baileys checks `issuerSerial === WA_CERT_DETAILS.SERIAL`, which is 0 for the root.
const ROOT_SERIAL = 0;
const INTERMEDIATE_SERIAL = 1;
const HOUR_S = 3600;
const DAY_S = 24 * HOUR_S;
const TEN_YEARS_S = 10 * 365 * DAY_S;

/**
 * Creates root → intermediate → leaf, each signed by its issuer with XEdDSA (Baileys' `Curve.sign`),
 * so a client that really verifies signatures accepts the chain only if it trusts `root`; the
 * leaf names the static key, and both certificates are valid from an hour ago for ten years.
 */
export function createServerIdentity(
  root: KeyPair = Curve.generateKeyPair(),
  { flaw, now = Date.now }: CertificateOptions = {},
): ServerIdentity {
  const intermediate = Curve.generateKeyPair();
  const staticKeyPair = Curve.generateKeyPair();
  const nowS = Math.floor(now() / 1000);
  const valid = { notBefore: nowS - HOUR_S, notAfter: nowS + TEN_YEARS_S };
  const expired = { notBefore: nowS - 30 * DAY_S, notAfter: nowS - DAY_S };
  const intermediateDetails = encodeDetails({
    serial: INTERMEDIATE_SERIAL,
    issuerSerial: flaw === 'intermediate-issuer-serial' ? 7 : ROOT_SERIAL,
    key: intermediate.public,
    ...(flaw === 'intermediate-expired' ? expired : valid),
  });
  const leafDetails = encodeDetails({
    serial: 2,
    issuerSerial: flaw === 'leaf-issuer-serial' ? INTERMEDIATE_SERIAL + 1 : INTERMEDIATE_SERIAL,
    key: flaw === 'leaf-key-mismatch' ? Curve.generateKeyPair().public : staticKeyPair.public,
    ...(flaw === 'leaf-expired' ? expired : valid),
    ...(flaw === 'leaf-not-yet-valid' && { notBefore: nowS + DAY_S }),
  });
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: sign(root, intermediateDetails) },
    leaf: { details: leafDetails, signature: sign(intermediate, leafDetails) },
  }).finish();
  return { rootPublicKey: Buffer.from(root.public), staticKeyPair, certChain };
}

function encodeDetails(details: proto.CertChain.NoiseCertificate.IDetails): Uint8Array {
  return proto.CertChain.NoiseCertificate.Details.encode(details).finish();
}

function sign(issuer: KeyPair, details: Uint8Array): Buffer {
  return Buffer.from(Curve.sign(Buffer.from(issuer.private), details));
}
