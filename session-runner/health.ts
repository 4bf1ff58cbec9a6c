import { createServer, type Server } from 'node:http';

/** `GET /healthz` for the container health check: 200 while serving, 503 once draining. */
export const startHealthServer = async (
  port: number,
  healthy: () => boolean,
): Promise<{ server: Server; port: number }> => {
  const server = createServer((req, res) => {
    if (req.url !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    const ok = healthy();
    res
      .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: ok ? 'ok' : 'draining' }));
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
};
