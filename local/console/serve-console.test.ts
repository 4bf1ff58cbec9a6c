import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveConsole } from './serve-console.ts';

// The console's server side without a browser: static files, the key only for loopback pages,
// and the simulator proxy that lets through only what a person may do.

const KEY = 'wqg_test_console_key_0123456789';
const servers: Server[] = [];
const received: { method?: string; url?: string; body: string }[] = [];

const listen = async (server: Server) => {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** A stand-in for the simulator's control API that records what reached it. */
const startFakeSimulator = () =>
  listen(
    createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      received.push({ method: req.method, url: req.url, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'sim-1' }));
    }),
  );

const startConsole = (simulatorUrl?: string) => {
  const handle = serveConsole({ devApiKey: KEY, simulatorUrl });
  return listen(
    createServer(async (req, res) => {
      const handled = await handle(req, res, new URL(req.url ?? '/', 'http://localhost'));
      if (!handled) {
        res.writeHead(418);
        res.end();
      }
    }),
  );
};

/** A request with a Host header of our choosing (fetch would not let us set it). */
const get = (base: string, path: string, host: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

let withSim: string;
let withoutSim: string;
beforeAll(async () => {
  withSim = await startConsole(await startFakeSimulator());
  withoutSim = await startConsole();
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('the console server', () => {
  it('serves the page and its modules with a strict content security policy, nothing else', async () => {
    const page = await fetch(`${withSim}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    const app = await fetch(`${withSim}/console/app.js`);
    expect([app.status, app.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await fetch(`${withSim}/console`, { redirect: 'manual' })).headers.get('location')).toBe(
      '/console/',
    );
    expect((await fetch(`${withSim}/console/serve-console.ts`)).status).toBe(404);
    expect((await fetch(`${withSim}/console/..%2fstack.ts`)).status).toBe(404);
    expect((await fetch(`${withSim}/console/app.js`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${withSim}/whatsapp-qr/init`)).status).toBe(418); // not the console's
  });

  it('hands the development key only to a page opened on a loopback host', async () => {
    const local = await get(withSim, '/console/config.json', '127.0.0.1');
    expect(local.status).toBe(200);
    expect(JSON.parse(local.body)).toEqual({ apiBase: '/whatsapp-qr', apiKey: KEY, simulator: true });
    expect(JSON.parse((await get(withoutSim, '/console/config.json', 'localhost:3000')).body)).toMatchObject({
      simulator: false,
    });
    // A site whose name was rebound to 127.0.0.1 sends its own Host: it gets no key.
    const rebound = await get(withSim, '/console/config.json', 'evil.example:3000');
    expect(rebound.status).toBe(404);
    expect(rebound.body).not.toContain(KEY);
  });

  it('forwards to the simulator only the routes a person may use, as JSON', async () => {
    const scan = await fetch(`${withSim}/console/simulator/phones/4915100000001/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qr: 'ref,key,identity,adv' }),
    });
    expect([scan.status, await scan.json()]).toEqual([200, { id: 'sim-1' }]);
    expect(received.at(-1)).toEqual({
      method: 'POST',
      url: '/phones/4915100000001/scan',
      body: JSON.stringify({ qr: 'ref,key,identity,adv' }),
    });
    const inbox = await fetch(`${withSim}/console/simulator/contacts/4915177700001/inbox`);
    expect(inbox.status).toBe(200);
    expect(received.at(-1)).toMatchObject({ method: 'GET', url: '/contacts/4915177700001/inbox' });

    const count = received.length;
    // Private keys of a paired device are never reachable from the page.
    const creds = await fetch(`${withSim}/console/simulator/phones/4915100000001/paired-credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(creds.status).toBe(404);
    // A cross-site form can only send text/plain: refused.
    const form = await fetch(`${withSim}/console/simulator/contacts/4915177700001/send`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ to: '4915100000001', text: 'hi' }),
    });
    expect(form.status).toBe(415);
    const wrongMethod = await fetch(`${withSim}/console/simulator/contacts/4915177700001/inbox`, {
      method: 'DELETE',
    });
    expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'GET']);
    expect(received.length).toBe(count);

    const noSim = await fetch(`${withoutSim}/console/simulator/contacts/4915177700001/inbox`);
    expect(noSim.status).toBe(404);
  });
});
