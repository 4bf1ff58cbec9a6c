import { Curve } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { agree, agreementKeyOf, generateAgreementKey } from './x25519.ts';

describe("the simulator's X25519 agreements", () => {
  it("give Baileys' Curve.sharedKey secret, from either side, for fresh and imported keys", () => {
    for (let i = 0; i < 20; i++) {
      const client = Curve.generateKeyPair();
      const fresh = generateAgreementKey();
      expect(agree(fresh, client.public)).toEqual(Curve.sharedKey(client.private, fresh.public));
      const server = Curve.generateKeyPair();
      const imported = agreementKeyOf(server.private);
      expect(imported.public).toEqual(server.public);
      expect(agree(imported, client.public)).toEqual(Curve.sharedKey(server.private, client.public));
    }
  });

  it('gives different secrets for different peers and refuses a public key that is not 32 bytes', () => {
    const own = generateAgreementKey();
    expect(agree(own, Curve.generateKeyPair().public)).not.toEqual(
      agree(own, Curve.generateKeyPair().public),
    );
    expect(() => agree(own, Buffer.alloc(33, 5))).toThrow(/32 bytes/);
  });
});
