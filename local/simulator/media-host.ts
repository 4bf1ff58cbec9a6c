import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { MediaTls } from './media-tls.ts';

// WhatsApp's own limit is 2 GB for documents; a test double on loopback keeps far less.
const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
const MAX_STORED_BYTES = 512 * 1024 * 1024;

/**
 * The encrypted media files the simulator holds, by direct path (`/v/t62.7118-24/<id>`), the
 * oldest forgotten past {@link MAX_STORED_BYTES}. In memory only: media is not persisted.
 */
export class MediaStore {
  private readonly blobs = new Map<string, Buffer>();
  private bytes = 0;
  /** `https://127.0.0.1:<port>`, once the host listens. */
  origin = '';
  /** The `auth` every upload must carry, handed out by the `media_conn` IQ. */
  readonly auth = randomBytes(24).toString('base64url');

  /** Keeps an encrypted file; returns its direct path and full URL, as WhatsApp's upload answer. */
  put(encrypted: Buffer): { directPath: string; url: string } {
    const directPath = `/v/t62.7118-24/${randomBytes(16).toString('hex')}`;
    this.blobs.set(directPath, encrypted);
    this.bytes += encrypted.length;
    while (this.bytes > MAX_STORED_BYTES && this.blobs.size > 1) {
      const [oldest, blob] = this.blobs.entries().next().value as [string, Buffer];
      this.blobs.delete(oldest);
      this.bytes -= blob.length;
    }
    return { directPath, url: `${this.origin}${directPath}?mms3=true` };
  }

  get(directPath: string): Buffer | undefined {
    return this.blobs.get(directPath);
  }

  /** The host name Baileys puts into `https://<host>/mms/...` (the `media_conn` answer). */
  get hostname(): string {
    return this.origin.replace(/^https:\/\//, '');
  }
}

export interface RunningMediaHost {
  port: number;
  close(): Promise<void>;
}

/**
 * WhatsApp's media host on loopback HTTPS (certificate from the simulator's own CA):
 * `POST /mms/<type>/<token>?auth=…` takes an encrypted upload and answers `{ url, direct_path }`,
 * `GET <direct path>` serves it. Baileys hard-codes `https://` for both.
 */
export async function serveMediaHost(
  store: MediaStore,
  tls: MediaTls,
  host: string,
): Promise<RunningMediaHost> {
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (request, response) => {
    void handle(store, request, response).catch(() => answer(response, 500, { error: 'failed' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  store.origin = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handle(store: MediaStore, request: IncomingMessage, response: ServerResponse) {
  const url = new URL(request.url ?? '/', 'https://localhost');
  if (request.method === 'POST' && url.pathname.startsWith('/mms/')) {
    if (url.searchParams.get('auth') !== store.auth) return answer(response, 401, { error: 'bad auth' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_UPLOAD_BYTES) return answer(response, 413, { error: 'too large' });
      chunks.push(chunk as Buffer);
    }
    const { directPath, url: mediaUrl } = store.put(Buffer.concat(chunks));
    return answer(response, 200, { url: mediaUrl, direct_path: directPath });
  }
  const blob = request.method === 'GET' ? store.get(url.pathname) : undefined;
  if (!blob) return answer(response, 404, { error: 'not found' });
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
  response.end(blob);
}

function answer(response: ServerResponse, status: number, body: unknown) {
  if (response.headersSent) return void response.destroy();
  const json = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  response.end(json);
}
