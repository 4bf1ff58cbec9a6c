/**
 * Stands in for `fast-sha256` and `@stablelib/base64` in the Lambda bundles (esbuild aliases in
 * infra/bundle-lambda.ts). Their one user there is `standardwebhooks`, which signs a
 * delivery with `hmac(key, data)` and reads and writes base64 with `decode` and `encode`; the two
 * packages are pure-JS SHA-256 and base64 coders (about 10 KB of the webhook bundles) that Node's
 * own crypto and Buffer do natively. Same results, and `decode` refuses what the package refuses;
 * infra/bundle-webhook-crypto.test.ts compares both on the same inputs.
 */
import { createHmac } from 'node:crypto';

/** Standard base64 with its padding, as @stablelib/base64 accepts it. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** HMAC-SHA256 of `data` keyed with `key` (fast-sha256's `hmac`). */
export const hmac = (key: Uint8Array, data: Uint8Array): Uint8Array =>
  new Uint8Array(createHmac('sha256', key).update(data).digest());

/** Base64 of the bytes, padded (@stablelib/base64's `encode`). */
export const encode = (data: Uint8Array): string => Buffer.from(data).toString('base64');

/** The bytes of padded standard base64; throws on anything else (@stablelib/base64's `decode`). */
export const decode = (s: string): Uint8Array => {
  if (!BASE64.test(s)) throw new Error('Not padded standard base64');
  return new Uint8Array(Buffer.from(s, 'base64'));
};
