import { Curve, proto } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import {
  CERTIFICATE_FLAWS,
  type CertificateFlaw,
  createServerIdentity,
  type ServerIdentity,
} from '#local/simulator/certificate-chain.ts';
import {
  checkServerIdentity,
  rememberVerified,
  type ServerRefusalCode,
  ServerRefusedError,
} from './server-identity-check.ts';
import { verifyXEdDSA } from './whatsapp-trust.ts';

const NOW = Date.UTC(2026, 11, 3);
const YEAR_MS = 365 * 24 * 3600 * 1000;
const root = Curve.generateKeyPair();

const trustAt = (now: number, rootKey: Uint8Array = root.public) => ({
  rootKey,
  rootSerial: 0,
  verify: verifyXEdDSA,
  now: () => now,
});

const refusal = (identity: ServerIdentity, now = NOW, serverStatic = identity.staticKeyPair.public) => {
  try {
    checkServerIdentity(serverStatic, identity.certChain, trustAt(now));
  } catch (error) {
    if (error instanceof ServerRefusedError) return error.code;
    throw error;
  }
  return 'accepted';
};

describe('checking what a server presents', () => {
  it('accepts a correct chain for its own static key, at any time inside its dates', () => {
    const identity = createServerIdentity(root, { now: () => NOW });
    expect(refusal(identity)).toBe('accepted');
    expect(refusal(identity, NOW + 9 * YEAR_MS)).toBe('accepted');
  });

  const expected: Record<CertificateFlaw, ServerRefusalCode> = {
    'leaf-key-mismatch': 'LEAF_KEY_MISMATCH',
    'leaf-issuer-serial': 'ISSUER_SERIAL_MISMATCH',
    'intermediate-issuer-serial': 'ISSUER_SERIAL_MISMATCH',
    'leaf-expired': 'CERTIFICATE_EXPIRED',
    'leaf-not-yet-valid': 'CERTIFICATE_NOT_YET_VALID',
    'intermediate-expired': 'CERTIFICATE_EXPIRED',
  };
  for (const flaw of CERTIFICATE_FLAWS) {
    it(`refuses a well-signed chain with the flaw "${flaw}" (${expected[flaw]})`, () => {
      expect(refusal(createServerIdentity(root, { flaw, now: () => NOW }))).toBe(expected[flaw]);
    });
  }

  it("refuses a genuine chain replayed with someone else's static key", () => {
    const genuine = createServerIdentity(root, { now: () => NOW });
    expect(refusal(genuine, NOW, Curve.generateKeyPair().public)).toBe('LEAF_KEY_MISMATCH');
  });

  it('refuses a chain before its dates and after them, by the injected clock', () => {
    const identity = createServerIdentity(root, { now: () => NOW });
    expect(refusal(identity, NOW - 2 * 3600 * 1000)).toBe('CERTIFICATE_NOT_YET_VALID');
    expect(refusal(identity, NOW + 11 * YEAR_MS)).toBe('CERTIFICATE_EXPIRED');
  });

  it('refuses a chain from another root, a leaf signed by another key, and bytes that are no chain', () => {
    expect(refusal(createServerIdentity(Curve.generateKeyPair(), { now: () => NOW }))).toBe('UNTRUSTED_ROOT');
    const identity = createServerIdentity(root, { now: () => NOW });
    const chain = proto.CertChain.decode(identity.certChain);
    const forgedLeaf = proto.CertChain.encode({
      intermediate: chain.intermediate,
      leaf: {
        details: chain.leaf?.details,
        signature: Curve.sign(Curve.generateKeyPair().private, chain.leaf?.details ?? new Uint8Array()),
      },
    }).finish();
    expect(refusal({ ...identity, certChain: forgedLeaf })).toBe('BAD_SIGNATURE');
    expect(refusal({ ...identity, certChain: Buffer.from([1, 2, 3, 4]) })).toBe('MALFORMED_CERTIFICATE');
    expect(refusal({ ...identity, certChain: proto.CertChain.encode({ leaf: chain.leaf }).finish() })).toBe(
      'MALFORMED_CERTIFICATE',
    );
  });

  it('says what was wrong in a message and carries an unauthorized kind', () => {
    const identity = createServerIdentity(root, { flaw: 'leaf-key-mismatch', now: () => NOW });
    const check = () => checkServerIdentity(identity.staticKeyPair.public, identity.certChain, trustAt(NOW));
    expect(check).toThrow(/server certificate refused: the leaf's key is not the server's Noise static key/);
    expect(check).toThrow(expect.objectContaining({ kind: 'unauthorized', code: 'LEAF_KEY_MISMATCH' }));
  });

  describe('remembering signatures it verified', () => {
    const counting = () => {
      const calls: number[] = [];
      const verify = (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
        calls.push(1);
        return verifyXEdDSA(key, message, signature);
      };
      return {
        calls,
        trust: { rootKey: root.public, rootSerial: 0, verify: rememberVerified(verify), now: () => NOW },
      };
    };

    it('verifies the signatures of a chain it accepted once, not again at the next connect', () => {
      const identity = createServerIdentity(root, { now: () => NOW });
      const { calls, trust } = counting();
      checkServerIdentity(identity.staticKeyPair.public, identity.certChain, trust);
      expect(calls).toHaveLength(2);
      checkServerIdentity(identity.staticKeyPair.public, identity.certChain, trust);
      checkServerIdentity(identity.staticKeyPair.public, identity.certChain, trust);
      expect(calls).toHaveLength(2);
    });

    it('still refuses a remembered chain for another static key or outside its dates', () => {
      const identity = createServerIdentity(root, { now: () => NOW });
      const { trust } = counting();
      checkServerIdentity(identity.staticKeyPair.public, identity.certChain, trust);
      expect(() => checkServerIdentity(Curve.generateKeyPair().public, identity.certChain, trust)).toThrow(
        expect.objectContaining({ code: 'LEAF_KEY_MISMATCH' }),
      );
      expect(() =>
        checkServerIdentity(identity.staticKeyPair.public, identity.certChain, {
          ...trust,
          now: () => NOW + 11 * YEAR_MS,
        }),
      ).toThrow(expect.objectContaining({ code: 'CERTIFICATE_EXPIRED' }));
    });

    it('checks a forged leaf after the genuine chain was remembered, and never remembers a refusal', () => {
      const identity = createServerIdentity(root, { now: () => NOW });
      const { calls, trust } = counting();
      checkServerIdentity(identity.staticKeyPair.public, identity.certChain, trust);
      const chain = proto.CertChain.decode(identity.certChain);
      const forged = proto.CertChain.encode({
        intermediate: chain.intermediate,
        leaf: {
          details: chain.leaf?.details,
          signature: Curve.sign(Curve.generateKeyPair().private, chain.leaf?.details ?? new Uint8Array()),
        },
      }).finish();
      const before = calls.length;
      for (let i = 0; i < 2; i++)
        expect(() => checkServerIdentity(identity.staticKeyPair.public, forged, trust)).toThrow(
          expect.objectContaining({ code: 'BAD_SIGNATURE' }),
        );
      // The remembered intermediate is not verified again; the forged leaf is, both times.
      expect(calls.length - before).toBe(2);
    });
  });
});
