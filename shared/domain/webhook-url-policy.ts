import { isIP } from 'node:net';
import type { AddressResolver, ResolvedAddress } from '../ports/address-resolver.ts';

// Which webhook URLs the gateway will call. A tenant's URL makes our network call it, so a URL that
// reaches the cloud's metadata service, the VPC or the host itself would turn webhooks into a
// request forgery tool: only public unicast addresses are called. The check runs when an endpoint
// is created and again before every delivery, with the connection pinned to the vetted address.

type Range = { bytes: number[]; prefix: number; label: string };

const ipv4Bytes = (ip: string): number[] => ip.split('.').map(Number);

/** The 16 bytes of an IPv6 address (with `::` and a trailing dotted IPv4 part). */
const ipv6Bytes = (ip: string): number[] => {
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a, b, c, d] = ipv4Bytes(dotted[1]) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
};

const range = (cidr: string, label: string): Range => {
  const [ip = '', prefix = ''] = cidr.split('/');
  return { bytes: isIP(ip) === 4 ? ipv4Bytes(ip) : ipv6Bytes(ip), prefix: Number(prefix), label };
};

const inRange = (bytes: number[], r: Range): boolean => {
  if (bytes.length !== r.bytes.length) return false;
  for (let bit = 0; bit < r.prefix; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((bytes[i] ?? 0) & mask) !== ((r.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
};

/** IPv4 ranges that are not public unicast (IANA special-purpose registry, plus multicast). */
const IPV4_DENIED: Range[] = [
  range('0.0.0.0/8', 'a "this network" address'),
  range('10.0.0.0/8', 'a private address'),
  range('100.64.0.0/10', 'a carrier-grade NAT address'),
  range('127.0.0.0/8', 'a loopback address'),
  range('169.254.169.254/32', 'the cloud metadata address'),
  range('169.254.0.0/16', 'a link-local address'),
  range('172.16.0.0/12', 'a private address'),
  range('192.0.0.0/24', 'an IETF protocol address'),
  range('192.0.2.0/24', 'a documentation address'),
  range('192.88.99.0/24', 'a 6to4 relay address'),
  range('192.168.0.0/16', 'a private address'),
  range('198.18.0.0/15', 'a benchmarking address'),
  range('198.51.100.0/24', 'a documentation address'),
  range('203.0.113.0/24', 'a documentation address'),
  range('224.0.0.0/4', 'a multicast address'),
  range('240.0.0.0/4', 'a reserved address'),
];

/** IPv6 ranges handled before the global-unicast rule, first match wins. */
const IPV6_DENIED: Range[] = [
  range('::/128', 'the unspecified address'),
  range('::1/128', 'a loopback address'),
  range('fd00:ec2::254/128', 'the cloud metadata address'),
  range('fc00::/7', 'a unique-local address'),
  range('fe80::/10', 'a link-local address'),
  range('fec0::/10', 'a site-local address'),
  range('ff00::/8', 'a multicast address'),
  range('64:ff9b:1::/48', 'a local-use NAT64 address'),
  range('100::/64', 'a discard-only address'),
  range('2001::/23', 'an IETF protocol address'),
  range('2001:db8::/32', 'a documentation address'),
  range('2002::/16', 'a 6to4 address'),
  range('3fff::/20', 'a documentation address'),
];
const IPV6_GLOBAL = range('2000::/3', 'global unicast');
/** IPv6 forms that carry an IPv4 address in their last 4 bytes: judged by that address. */
const IPV6_EMBEDDING_IPV4 = [range('::ffff:0:0/96', 'IPv4-mapped'), range('64:ff9b::/96', 'NAT64')];

/**
 * Why an IP address is not a public unicast address (e.g. "a private address"), or undefined when
 * it is. IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address they carry.
 */
export const nonPublicReason = (ip: string): string | undefined => {
  const family = isIP(ip.replace(/%.*$/, ''));
  if (family === 4) return IPV4_DENIED.find((r) => inRange(ipv4Bytes(ip), r))?.label;
  if (family !== 6) return 'not an IP address';
  const bytes = ipv6Bytes(ip);
  if (IPV6_EMBEDDING_IPV4.some((r) => inRange(bytes, r))) {
    return nonPublicReason(bytes.slice(12).join('.'));
  }
  const denied = IPV6_DENIED.find((r) => inRange(bytes, r));
  if (denied) return denied.label;
  return inRange(bytes, IPV6_GLOBAL) ? undefined : 'a reserved address';
};

/** Whether an address is loopback (127/8, ::1, or IPv4-mapped loopback). */
export const isLoopbackAddress = (ip: string): boolean => nonPublicReason(ip) === 'a loopback address';

export interface WebhookUrlOptions {
  /** Local stack only: also allow `http://` and `https://` to loopback (a receiver on this machine). */
  allowLoopback?: boolean;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Why a URL is not acceptable by its text alone (scheme, credentials, length), or undefined. */
export const webhookUrlSyntaxProblem = (raw: string, options: WebhookUrlOptions = {}): string | undefined => {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && options.allowLoopback) return undefined; // loopback checked on resolve
  return `must be an https:// URL (got ${url.protocol}//)`;
};

export type VettedUrl =
  | { ok: true; url: URL; hostname: string; address: ResolvedAddress }
  | { ok: false; reason: string; code: 'URL_INVALID' | 'URL_NOT_PUBLIC' | 'URL_NOT_RESOLVABLE' };

/**
 * Checks a webhook URL and resolves its host once: every address the name has must be public
 * (one private answer refuses the whole name), or loopback when `allowLoopback`. The caller
 * connects to the returned address, never to a second resolution of the name.
 */
export const vetWebhookUrl = async (
  raw: string,
  resolver: AddressResolver,
  options: WebhookUrlOptions = {},
): Promise<VettedUrl> => {
  const syntax = webhookUrlSyntaxProblem(raw, options);
  if (syntax) return { ok: false, reason: syntax, code: 'URL_INVALID' };
  const url = new URL(raw);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: ResolvedAddress[];
  const literal = isIP(hostname);
  if (literal === 4 || literal === 6) {
    addresses = [{ address: hostname, family: literal }];
  } else {
    try {
      addresses = await resolver.resolve(hostname);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      return { ok: false, reason: `host ${hostname} does not resolve`, code: 'URL_NOT_RESOLVABLE' };
    }
  }
  const loopbackOnly = addresses.every((a) => isLoopbackAddress(a.address));
  if (options.allowLoopback && loopbackOnly) {
    return { ok: true, url, hostname, address: addresses[0] as ResolvedAddress };
  }
  for (const a of addresses) {
    const reason = nonPublicReason(a.address);
    if (reason) {
      return {
        ok: false,
        reason: `host ${hostname} resolves to ${a.address}, ${reason}; only public addresses are allowed`,
        code: 'URL_NOT_PUBLIC',
      };
    }
  }
  if (url.protocol !== 'https:') {
    return { ok: false, reason: 'must be an https:// URL (http:// only to loopback)', code: 'URL_INVALID' };
  }
  return { ok: true, url, hostname, address: addresses[0] as ResolvedAddress };
};
