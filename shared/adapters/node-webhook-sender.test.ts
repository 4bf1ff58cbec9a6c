import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeWebhookSender } from './node-webhook-sender.ts';

/** A self-signed certificate for `receiver.test` (openssl, as on the CI image). */
const certificateFor = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

let server: Server;
let port: number;
let cert: string;
const seen: { servername: string | false | null; host?: string; path?: string }[] = [];

beforeAll(async () => {
  const tls = certificateFor('receiver.test');
  cert = tls.cert;
  server = createServer(tls, (req, res) => {
    seen.push({ servername: (req.socket as TLSSocket).servername, host: req.headers.host, path: req.url });
    req.resume();
    res.writeHead(202).end('a body nobody reads');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const request = (url: string, timeoutMs = 5000) => ({
  url: new URL(url),
  address: { address: '127.0.0.1', family: 4 as const },
  headers: { 'webhook-id': 'evt_1' },
  body: '{}',
  timeoutMs,
});

describe('NodeWebhookSender', () => {
  it('connects to the pinned address while TLS and Host carry the name, and keeps only the status', async () => {
    // receiver.test does not resolve anywhere: only the pinned address can have been used.
    const response = await new NodeWebhookSender({ ca: cert }).send(
      request(`https://receiver.test:${port}/in?x=1`),
    );
    expect(response).toEqual({ status: 202 });
    expect(seen.at(-1)).toEqual({
      servername: 'receiver.test',
      host: `receiver.test:${port}`,
      path: '/in?x=1',
    });
  });

  it('refuses a certificate that is not for the name', async () => {
    const response = await new NodeWebhookSender({ ca: cert }).send(request(`https://other.test:${port}/`));
    expect(response).toMatchObject({ error: expect.stringContaining('request failed') });
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const silent = createHttpServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const silentPort = (silent.address() as AddressInfo).port;
      const response = await new NodeWebhookSender().send(request(`http://127.0.0.1:${silentPort}/`, 200));
      expect(response).toEqual({ error: 'no answer within 200 ms' });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
