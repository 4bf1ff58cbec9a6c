import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP hop in front of the SQS double that, while clamped, shortens every visibility timeout a
 * client asks for (on ReceiveMessage and ChangeMessageVisibility) to `seconds`: SQS whose messages
 * come back while the runner still works on them. The double does not check signatures, so the
 * rewritten JSON body is accepted as sent.
 */
export interface VisibilityClamp {
  endpoint: string;
  clamp(seconds: number | undefined): void;
  /** Requests per SQS action so far (npm run bench counts AWS requests here). */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

/** Forwards to `target`, rewriting visibility timeouts while a clamp is set. */
export const startVisibilityClamp = async (target: string): Promise<VisibilityClamp> => {
  const upstream = new URL(target);
  let limit: number | undefined;
  const counts: Record<string, number> = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Buffer = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? '');
      const name = action.split('.').pop() || 'unknown';
      counts[name] = (counts[name] ?? 0) + 1;
      if (limit !== undefined && /ReceiveMessage|ChangeMessageVisibility$/.test(action) && body.length) {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        if (input.VisibilityTimeout === undefined || Number(input.VisibilityTimeout) > limit)
          input.VisibilityTimeout = limit;
        body = Buffer.from(JSON.stringify(input));
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host, 'content-length': String(body.length) },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      res.on('close', () => forward.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clamp: (seconds) => {
      limit = seconds;
    },
    counts: () => ({ ...counts }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
