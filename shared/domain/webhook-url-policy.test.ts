import { describe, expect, it } from 'vitest';
import type { AddressResolver, ResolvedAddress } from '../ports/address-resolver.ts';
import { nonPublicReason, vetWebhookUrl } from './webhook-url-policy.ts';

const resolverOf = (answers: Record<string, string[]>): AddressResolver => ({
  resolve: async (host) =>
    (answers[host] ?? []).map(
      (address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }),
    ),
});

describe('nonPublicReason', () => {
  it.each([
    ['0.1.2.3', 'a "this network" address'],
    ['10.1.2.3', 'a private address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['100.127.255.254', 'a carrier-grade NAT address'],
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['169.254.169.254', 'the cloud metadata address'],
    ['169.254.10.1', 'a link-local address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.0.0.8', 'an IETF protocol address'],
    ['192.0.2.1', 'a documentation address'],
    ['192.88.99.1', 'a 6to4 relay address'],
    ['192.168.1.1', 'a private address'],
    ['198.18.0.1', 'a benchmarking address'],
    ['198.51.100.7', 'a documentation address'],
    ['203.0.113.9', 'a documentation address'],
    ['224.0.0.1', 'a multicast address'],
    ['239.255.255.250', 'a multicast address'],
    ['240.0.0.1', 'a reserved address'],
    ['255.255.255.255', 'a reserved address'],
    ['::', 'the unspecified address'],
    ['::1', 'a loopback address'],
    ['fd00:ec2::254', 'the cloud metadata address'],
    ['fc00::1', 'a unique-local address'],
    ['fdff:ffff::1', 'a unique-local address'],
    ['fe80::1', 'a link-local address'],
    ['fe80::1%eth0', 'a link-local address'],
    ['febf::1', 'a link-local address'],
    ['fec0::1', 'a site-local address'],
    ['ff02::1', 'a multicast address'],
    ['::ffff:10.0.0.1', 'a private address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:169.254.169.254', 'the cloud metadata address'],
    ['::ffff:a9fe:a9fe', 'the cloud metadata address'],
    ['64:ff9b::192.168.0.1', 'a private address'],
    ['64:ff9b:1::1', 'a local-use NAT64 address'],
    ['::10.0.0.1', 'a reserved address'],
    ['100::1', 'a discard-only address'],
    ['2001::1', 'an IETF protocol address'],
    ['2001:db8::1', 'a documentation address'],
    ['2002:a00:1::1', 'a 6to4 address'],
    ['4000::1', 'a reserved address'],
  ])('refuses %s as %s', (ip, reason) => {
    expect(nonPublicReason(ip)).toBe(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
  ])('accepts the public address %s', (ip) => {
    expect(nonPublicReason(ip)).toBeUndefined();
  });
});

describe('vetWebhookUrl', () => {
  const resolver = resolverOf({
    'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'internal.example.com': ['10.0.0.5'],
    'mixed.example.com': ['93.184.216.34', '192.168.0.10'],
    'metadata.example.com': ['fd00:ec2::254'],
    localhost: ['127.0.0.1', '::1'],
  });

  it('accepts an https URL whose host resolves only to public addresses, pinned to the first', async () => {
    const vetted = await vetWebhookUrl('https://hooks.example.com/wh?x=1', resolver);
    expect(vetted).toMatchObject({
      ok: true,
      hostname: 'hooks.example.com',
      address: { address: '93.184.216.34' },
    });
  });

  it.each([
    ['http://hooks.example.com/', 'URL_INVALID', 'https://'],
    ['ftp://hooks.example.com/', 'URL_INVALID', 'https://'],
    ['not a url', 'URL_INVALID', 'absolute URL'],
    ['https://user:pw@hooks.example.com/', 'URL_INVALID', 'credentials'],
    [`https://hooks.example.com/${'a'.repeat(2100)}`, 'URL_INVALID', 'at most'],
    ['https://internal.example.com/', 'URL_NOT_PUBLIC', '10.0.0.5, a private address'],
    ['https://mixed.example.com/', 'URL_NOT_PUBLIC', '192.168.0.10'],
    ['https://metadata.example.com/', 'URL_NOT_PUBLIC', 'metadata'],
    ['https://169.254.169.254/latest', 'URL_NOT_PUBLIC', 'metadata'],
    ['https://[::ffff:127.0.0.1]/', 'URL_NOT_PUBLIC', 'loopback'],
    ['https://2130706433/', 'URL_NOT_PUBLIC', 'loopback'],
    ['https://localhost/', 'URL_NOT_PUBLIC', 'loopback'],
    ['https://nowhere.example.com/', 'URL_NOT_RESOLVABLE', 'does not resolve'],
  ])('refuses %s with %s', async (url, code, reason) => {
    const vetted = await vetWebhookUrl(url, resolver);
    expect(vetted.ok).toBe(false);
    if (!vetted.ok) {
      expect(vetted.code).toBe(code);
      expect(vetted.reason).toContain(reason);
    }
  });

  it('allows http:// and https:// to loopback only with the local flag', async () => {
    expect((await vetWebhookUrl('http://127.0.0.1:8080/hook', resolver, { allowLoopback: true })).ok).toBe(
      true,
    );
    expect((await vetWebhookUrl('http://localhost:8080/hook', resolver, { allowLoopback: true })).ok).toBe(
      true,
    );
    expect((await vetWebhookUrl('https://[::1]:8443/', resolver, { allowLoopback: true })).ok).toBe(true);
    expect((await vetWebhookUrl('http://127.0.0.1:8080/hook', resolver)).ok).toBe(false);
  });

  it('still refuses http:// to a public or private host with the local flag', async () => {
    const pub = await vetWebhookUrl('http://hooks.example.com/', resolver, { allowLoopback: true });
    const priv = await vetWebhookUrl('http://internal.example.com/', resolver, { allowLoopback: true });
    expect(pub).toMatchObject({ ok: false, code: 'URL_INVALID' });
    expect(priv).toMatchObject({ ok: false, code: 'URL_NOT_PUBLIC' });
  });
});
