import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Sends the request on to the upstream with `body` (rewritten or not) and pipes its answer back. */
export type ForwardRequest = (body: Buffer) => void;

/** An HTTP hop on a free loopback port in front of one stand-in. */
export interface HttpHop {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts a hop in front of `target` (`http://host:port`): `handle` gets every request with its
 * whole body and either forwards it or answers (or holds) it itself. The fault stack's SQS clamp,
 * its DynamoDB hook and the bench's request counter are all such hops.
 */
export const startHttpHop = async (
  target: string,
  handle: (req: IncomingMessage, res: ServerResponse, body: Buffer, forward: ForwardRequest) => void,
): Promise<HttpHop> => {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward: ForwardRequest = (body) => {
        const { 'transfer-encoding': _chunked, ...headers } = req.headers;
        const hop = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...headers, host: upstream.host, 'content-length': String(body.length) },
            // A connection of its own: a kept-alive one the upstream closes (idle) while this hop,
            // its event loop late under load, still reuses it resets the request ("socket hang up"
            // at the runner: 68 failed visibility extensions in one runner of an r1 full run).
            agent: false,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        hop.on('error', () => res.destroy());
        res.on('close', () => hop.destroy());
        hop.end(body);
      };
      handle(req, res, Buffer.concat(chunks), forward);
    });
  });
  // Idle client connections are kept longer than the SDK reuses them, for the same reason.
  server.keepAliveTimeout = 55_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
