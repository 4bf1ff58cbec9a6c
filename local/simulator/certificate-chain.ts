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

// Baileys checks `issuerSerial === WA_CERT_DETAILS.SERIAL`, which is 0 for the root.
const ROOT_SERIAL = 0;
const TEN_YEARS_S = 10 * 365 * 24 * 3600;

/**
 * Creates root → intermediate → leaf, each signed by its issuer with XEdDSA (Baileys' `Curve.sign`),
 * so a client that really verifies signatures accepts the chain only if it trusts `root`.
 */
export function createServerIdentity(root: KeyPair = Curve.generateKeyPair()): ServerIdentity {
  const intermediate = Curve.generateKeyPair();
  const staticKeyPair = Curve.generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const intermediateDetails = encodeDetails(1, ROOT_SERIAL, intermediate.public, now);
  const leafDetails = encodeDetails(2, 1, staticKeyPair.public, now);
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: sign(root, intermediateDetails) },
    leaf: { details: leafDetails, signature: sign(intermediate, leafDetails) },
  }).finish();
  return { rootPublicKey: Buffer.from(root.public), staticKeyPair, certChain };
}

function encodeDetails(serial: number, issuerSerial: number, key: Uint8Array, now: number): Uint8Array {
  return proto.CertChain.NoiseCertificate.Details.encode({
    serial,
    issuerSerial,
    key,
    notBefore: now - 3600,
    notAfter: now + TEN_YEARS_S,
  }).finish();
}

function sign(issuer: KeyPair, details: Uint8Array): Buffer {
  return Buffer.from(Curve.sign(Buffer.from(issuer.private), details));
}
