import { isIP } from 'node:net';

/** 127.0.0.0/8, ::1 and localhost; nothing a DNS answer or another machine could stand behind. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

/**
 * Why a WhatsApp WebSocket URL is not acceptable, or undefined when it is: `wss://` anywhere,
 * plain `ws://` only on loopback (the simulator); the Noise handshake authenticates the server,
 * TLS keeps the connection metadata private and stops an on-path party from even trying.
 */
export function whatsAppUrlProblem(value: string | URL): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol === 'wss:') return undefined;
  if (url.protocol === 'ws:' && isLoopbackHost(url.hostname)) return undefined;
  if (url.protocol === 'ws:')
    return `must use wss:// for a server that is not on loopback (got ws://${url.host})`;
  return `must be a wss:// URL (got ${url.protocol}//)`;
}
