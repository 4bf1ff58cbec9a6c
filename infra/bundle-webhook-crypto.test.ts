import * as stablelib from '@stablelib/base64';
import * as fastSha256 from 'fast-sha256';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { decode, encode, hmac } from './bundle-webhook-crypto.ts';

/** A small deterministic generator, so that a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const bytes = (next: () => number, max: number) =>
  Uint8Array.from({ length: Math.floor(next() * max) }, () => Math.floor(next() * 256));

describe('the webhook Lambdas’ HMAC and base64 (stand-ins for fast-sha256 and @stablelib/base64)', () => {
  it('computes the same HMAC-SHA256 and base64 as the packages for random keys and messages', () => {
    const next = random(11);
    for (let i = 0; i < 300; i++) {
      const key = bytes(next, 100);
      const data = bytes(next, 300);
      expect(hmac(key, data)).toEqual(fastSha256.hmac(key, data));
      expect(encode(data)).toBe(stablelib.encode(data));
      expect(decode(stablelib.encode(data))).toEqual(stablelib.decode(stablelib.encode(data)));
    }
  });

  it('refuses all the base64 the package refuses, and decodes what it accepts to the same bytes', () => {
    // Stricter than the package: it also takes a few unpadded or trailing-space forms, which a
    // secret this project makes (newWebhookSecret: padded base64) never has.
    const next = random(5);
    const alphabet = 'AB+/=-_ z9';
    let accepted = 0;
    for (let i = 0; i < 3_000; i++) {
      const s = Array.from({ length: Math.floor(next() * 10) }, () => alphabet[Math.floor(next() * 10)]).join(
        '',
      );
      let theirs: Uint8Array | 'throws';
      try {
        theirs = stablelib.decode(s);
      } catch {
        theirs = 'throws';
      }
      if (theirs === 'throws') expect(() => decode(s), JSON.stringify(s)).toThrow();
      else if (/^[A-Za-z0-9+/=]*$/.test(s) && s.length % 4 === 0) {
        expect(decode(s), JSON.stringify(s)).toEqual(theirs);
        accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it('gives standardwebhooks the same signature with either', () => {
    const secret = `whsec_${Buffer.from('a secret of thirty-two bytes!!!!').toString('base64')}`;
    const at = new Date(1_700_000_000_000);
    const theirs = new Webhook(secret).sign('evt_1', at, '{"a":1}');
    const key = decode(secret.slice('whsec_'.length));
    const ours = `v1,${encode(hmac(key, new TextEncoder().encode(`evt_1.${at.getTime() / 1000}.{"a":1}`)))}`;
    expect(ours).toBe(theirs);
  });
});
