import { randomBytes } from 'node:crypto';
import { Curve, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { verifySignature } from 'libsignal/src/curve.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERTIFICATE_FLAWS, type Simulator, start } from '#local/simulator/index.ts';
import { BaileysTestClient } from '#local/simulator/testing/baileys-client.ts';
import type { ServerRefusedError } from './server-identity-check.ts';
import { installWhatsAppTrust, isLoopbackHost, verifyXEdDSA, WhatsAppTrustError } from './whatsapp-trust.ts';

const WHATSAPP_ROOT = '142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b';

describe('signature checks', () => {
  const signer = Curve.generateKeyPair();
  const message = Buffer.from('certificate details');
  const signature = Curve.sign(signer.private, message);

  it('accepts a signature by the right key and refuses a wrong key or a tampered message', () => {
    expect(verifyXEdDSA(signer.public, message, signature)).toBe(true);
    expect(verifyXEdDSA(Curve.generateKeyPair().public, message, signature)).toBe(false);
    expect(verifyXEdDSA(signer.public, Buffer.from('certificate detailz'), signature)).toBe(false);
    expect(verifyXEdDSA(signer.public, message, Buffer.alloc(10))).toBe(false);
  });

  it("gives libsignal's verdict on valid, wrong-key, tampered and random signatures", () => {
    const libsignal = (key: Uint8Array, data: Uint8Array, sig: Uint8Array) =>
      verifySignature(Buffer.concat([Buffer.from([5]), key]), Buffer.from(data), Buffer.from(sig));
    for (let i = 0; i < 20; i++) {
      const pair = Curve.generateKeyPair();
      const data = randomBytes(1 + i * 7);
      const sig = Buffer.from(Curve.sign(pair.private, data));
      const flipped = Buffer.from(sig);
      flipped[(i * 13) % 64] = (flipped[(i * 13) % 64] ?? 0) ^ (1 << (i % 8));
      const cases: Array<[Uint8Array, Uint8Array, Uint8Array]> = [
        [pair.public, data, sig],
        [Curve.generateKeyPair().public, data, sig],
        [pair.public, randomBytes(data.length), sig],
        [pair.public, data, flipped],
        [pair.public, data, randomBytes(64)],
      ];
      for (const [key, bytes, signature] of cases) {
        expect(verifyXEdDSA(key, bytes, signature)).toBe(libsignal(key, bytes, signature));
      }
    }
  });

  it("replaces Baileys' Curve.verify with the real check", () => {
    installWhatsAppTrust({ waWebSocketUrl: 'wss://web.whatsapp.com/ws/chat' });
    expect(Curve.verify(Curve.generateKeyPair().public, message, signature)).toBe(false);
    expect(Curve.verify(signer.public, message, signature)).toBe(true);
  });
});

describe('which root is trusted', () => {
  const simulatorKey = Buffer.from(Curve.generateKeyPair().public).toString('hex');

  it('trusts a simulator root only for a loopback URL', () => {
    for (const url of [
      'ws://127.0.0.1:3100/ws/chat',
      'ws://localhost:1/ws/chat',
      'ws://[::1]:2/ws/chat',
      'ws://127.8.9.10/',
    ]) {
      installWhatsAppTrust({ waWebSocketUrl: url, simulatorRootKeyHex: simulatorKey });
      expect(WA_CERT_DETAILS.PUBLIC_KEY.toString('hex')).toBe(simulatorKey);
    }
  });

  it('refuses a simulator root for a server that is not on loopback', () => {
    for (const url of [
      'wss://web.whatsapp.com/ws/chat',
      'wss://10.0.0.1:3100/ws/chat',
      'wss://127.0.0.1.nip.io/',
    ]) {
      expect(() => installWhatsAppTrust({ waWebSocketUrl: url, simulatorRootKeyHex: simulatorKey })).toThrow(
        WhatsAppTrustError,
      );
    }
  });

  it('refuses plain ws:// to a server that is not on loopback, whatever the root', () => {
    for (const url of [
      'ws://web.whatsapp.com/ws/chat',
      'ws://10.0.0.1:3100/ws/chat',
      'ws://127.0.0.1.nip.io/',
    ]) {
      expect(() => installWhatsAppTrust({ waWebSocketUrl: url })).toThrow(/must use wss:\/\//);
    }
    expect(() => installWhatsAppTrust({ waWebSocketUrl: 'https://web.whatsapp.com/ws/chat' })).toThrow(
      WhatsAppTrustError,
    );
  });

  it('refuses to run on a Baileys without the patch that lets it check the server', () => {
    const details = WA_CERT_DETAILS as Partial<typeof WA_CERT_DETAILS>;
    const hook = details.VERIFY_SERVER;
    delete details.VERIFY_SERVER;
    try {
      expect(() => installWhatsAppTrust({ waWebSocketUrl: 'wss://web.whatsapp.com/ws/chat' })).toThrow(
        /not patched/,
      );
    } finally {
      details.VERIFY_SERVER = hook;
    }
  });

  it('refuses a malformed key', () => {
    expect(() =>
      installWhatsAppTrust({ waWebSocketUrl: 'ws://127.0.0.1/', simulatorRootKeyHex: 'abc' }),
    ).toThrow(WhatsAppTrustError);
  });

  it("puts WhatsApp's root back when no simulator is named, however often it is called", () => {
    installWhatsAppTrust({ waWebSocketUrl: 'ws://127.0.0.1/', simulatorRootKeyHex: simulatorKey });
    installWhatsAppTrust({ waWebSocketUrl: 'wss://web.whatsapp.com/ws/chat' });
    installWhatsAppTrust({ waWebSocketUrl: 'wss://web.whatsapp.com/ws/chat' });
    expect(WA_CERT_DETAILS.PUBLIC_KEY.toString('hex')).toBe(WHATSAPP_ROOT);
  });

  it('knows loopback hosts from look-alikes', () => {
    expect(['127.0.0.1', 'LOCALHOST', '[::1]'].map(isLoopbackHost)).toEqual([true, true, true]);
    expect(['128.0.0.1', 'localhost.example', '[::2]', '0.0.0.0'].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('a Baileys socket', () => {
  let trusted: Simulator;
  let impostor: Simulator;
  const trustedRoot = Curve.generateKeyPair();

  beforeAll(async () => {
    trusted = await start({ rootKeyPair: trustedRoot });
    // Same software, its own root: everything is well signed, just not by the root the client trusts.
    impostor = await start({ rootKeyPair: Curve.generateKeyPair() });
    installWhatsAppTrust({ waWebSocketUrl: trusted.url, simulatorRootKeyHex: trusted.rootPublicKeyHex });
  });
  afterAll(async () => {
    await Promise.all([trusted?.stop(), impostor?.stop()]);
  });

  it('refuses a server whose certificate chain ends in another root', async () => {
    const client = new BaileysTestClient(impostor.url);
    const closed = await client.closedWith();
    expect(closed.message).toBe(
      'server certificate refused: the intermediate is not signed by the trusted root',
    );
    expect(client.qrs).toEqual([]);
  });

  // Each is signed by the trusted root and differs from a good chain in one property only.
  const refusals = {
    'leaf-key-mismatch': "the leaf's key is not the server's Noise static key",
    'leaf-issuer-serial': "the leaf's issuer serial is not the intermediate's serial",
    'intermediate-issuer-serial': "the intermediate's issuer is not the trusted root",
    'leaf-expired': 'the leaf certificate has expired',
    'leaf-not-yet-valid': 'the leaf certificate is not valid yet',
    'intermediate-expired': 'the intermediate certificate has expired',
  } as const;
  for (const flaw of CERTIFICATE_FLAWS) {
    it(`refuses a server whose chain has the flaw "${flaw}"`, async () => {
      const flawed = await start({ rootKeyPair: trustedRoot, certificateFlaw: flaw });
      try {
        const refused: ServerRefusedError[] = [];
        installWhatsAppTrust({
          waWebSocketUrl: flawed.url,
          simulatorRootKeyHex: flawed.rootPublicKeyHex,
          onRefused: (e) => refused.push(e),
        });
        const client = new BaileysTestClient(flawed.url);
        const closed = await client.closedWith();
        expect(closed.message).toContain(refusals[flaw]);
        expect(refused.map((e) => e.message)).toEqual([closed.message]);
        expect(client.qrs).toEqual([]);
        expect(flawed.stats().devices).toEqual([]);
      } finally {
        await flawed.stop();
        installWhatsAppTrust({ waWebSocketUrl: trusted.url, simulatorRootKeyHex: trusted.rootPublicKeyHex });
      }
    });
  }

  it('links with the server whose root it trusts', async () => {
    const client = new BaileysTestClient(trusted.url);
    expect(await client.nextQr()).toMatch(/^https:\/\/wa\.me\//);
    client.end();
  });
});
