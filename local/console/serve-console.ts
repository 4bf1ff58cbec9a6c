import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

// The console: static files under /console/, the development key for pages opened on loopback,
// and, with the simulator, a same-origin door to the parts of its control API a person may use.
// The console itself talks only to the public tenant API, so it could be hosted anywhere.

const PUBLIC_DIR = join(import.meta.dirname, 'public');
const PREFIX = '/console/';
const MAX_PROXY_BODY = 64 * 1024;

const STATIC_FILES: Record<string, string> = {
  '': 'text/html; charset=utf-8',
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'sessions.js': 'text/javascript; charset=utf-8',
  'conversations.js': 'text/javascript; charset=utf-8',
  'webhooks.js': 'text/javascript; charset=utf-8',
  'virtual-phone.js': 'text/javascript; charset=utf-8',
};

// The control API routes a person may use from the page; never `paired-credentials` (private keys).
const SIMULATOR_ROUTES: Array<[method: string, path: RegExp]> = [
  ['POST', /^phones\/\d{6,15}\/scan$/],
  ['POST', /^phones\/\d{6,15}\/pairing-code$/],
  ['POST', /^contacts\/\d{6,15}\/send$/],
  ['POST', /^contacts\/\d{6,15}\/read$/],
  ['GET', /^contacts\/\d{6,15}\/inbox$/],
];

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
const CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface ConsoleOptions {
  /** The development tenant's key, handed to pages opened on loopback. */
  devApiKey: string;
  /** The simulator's control API (`http://127.0.0.1:<port>`) when the stack runs it. */
  simulatorUrl?: string;
}

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/** Loopback peer and a loopback Host header: a page of another site (DNS rebinding) gets nothing. */
export const isLoopbackRequest = (req: IncomingMessage): boolean => {
  const peer = req.socket.remoteAddress ?? '';
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const loopbackPeer = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  const loopbackHost = host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return loopbackPeer && loopbackHost;
};

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
};
const sendError = (res: ServerResponse, status: number, code: string, message: string) =>
  sendJson(res, status, { error: { code, message } });

const readLimited = async (req: IncomingMessage): Promise<Buffer | undefined> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PROXY_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
};

const proxyToSimulator = async (
  req: IncomingMessage,
  res: ServerResponse,
  simulatorUrl: string,
  path: string,
) => {
  const method = req.method ?? 'GET';
  const allowed = SIMULATOR_ROUTES.filter(([, pattern]) => pattern.test(path));
  if (!allowed.length) return sendError(res, 404, 'NOT_FOUND', 'No such simulator route');
  if (!allowed.some(([m]) => m === method)) {
    res.setHeader('allow', allowed.map(([m]) => m).join(', '));
    return sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`);
  }
  let body: Buffer | undefined;
  if (method === 'POST') {
    // JSON only: a cross-site form cannot send it without a CORS preflight, which we never grant.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json');
    }
    body = await readLimited(req);
    if (!body) return sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'Body over 64 KiB');
  }
  try {
    // The body may hold a QR string: it is forwarded, never logged.
    const answer = await fetch(`${simulatorUrl}/${path}`, {
      method,
      ...(body && { body, headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(15_000),
    });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...SECURITY_HEADERS });
    res.end(Buffer.from(await answer.arrayBuffer()));
  } catch {
    sendError(res, 503, 'SIMULATOR_UNAVAILABLE', 'The simulator did not answer');
  }
};

/**
 * Serves the console under `/console/` (static files, `config.json` on loopback, and with the
 * simulator the `/console/simulator/*` proxy). Resolves false for every other path.
 */
export const serveConsole = (options: ConsoleOptions): ConsoleHandler => {
  return async (req, res, url) => {
    if (url.pathname === '/console') {
      res.writeHead(308, { location: PREFIX });
      res.end();
      return true;
    }
    if (!url.pathname.startsWith(PREFIX)) return false;
    const rest = url.pathname.slice(PREFIX.length);

    if (rest.startsWith('simulator/')) {
      if (!options.simulatorUrl) sendError(res, 404, 'NOT_FOUND', 'The stack runs without the simulator');
      else if (!isLoopbackRequest(req)) sendError(res, 403, 'FORBIDDEN', 'Loopback only');
      else await proxyToSimulator(req, res, options.simulatorUrl, rest.slice('simulator/'.length));
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`);
      return true;
    }
    if (rest === 'config.json') {
      if (!isLoopbackRequest(req)) sendError(res, 404, 'NOT_FOUND', 'No configuration here');
      else
        sendJson(res, 200, {
          apiBase: '/whatsapp-qr',
          apiKey: options.devApiKey,
          simulator: !!options.simulatorUrl,
        });
      return true;
    }
    const type = STATIC_FILES[rest];
    if (type === undefined) {
      sendError(res, 404, 'NOT_FOUND', 'No such file');
      return true;
    }
    const content = await readFile(join(PUBLIC_DIR, rest || 'index.html'));
    res.writeHead(200, {
      'content-type': type,
      'content-length': content.length,
      'content-security-policy': CSP,
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : content);
    return true;
  };
};
