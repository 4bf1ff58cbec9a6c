import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** The WhatsApp Web path Baileys connects to; everything else on the port is the control API. */
export const WS_PATH = '/ws/chat';

export interface ServeOptions {
  host: string;
  port: number;
  onRequest(request: IncomingMessage, response: ServerResponse): void;
  onWebSocket(ws: WebSocket): void;
}

export interface RunningServer {
  port: number;
  /** Cuts every WebSocket and HTTP connection and stops listening. */
  close(): Promise<void>;
}

/** One HTTP server for both: WebSocket upgrades on {@link WS_PATH}, JSON requests elsewhere. */
export async function serve({ host, port, onRequest, onWebSocket }: ServeOptions): Promise<RunningServer> {
  const http = createServer(onRequest);
  // Let clients close idle keep-alive sockets first (undici after 4 s): a server closing one
  // while a busy client reuses it fails that request with "other side closed".
  http.keepAliveTimeout = 65_000;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on('upgrade', (request, socket, head) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, onWebSocket);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return {
    port: (http.address() as AddressInfo).port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
