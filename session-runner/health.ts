import { createServer, type Server } from 'node:http';

/** What the runner is doing: only `ok` is healthy. */
export type HealthState = 'ok' | 'resuming' | 'draining';

/**
 * `GET /healthz` for the container health check: 200 while serving; 503 while a held shard's
 * sessions are not resumed yet (a takeover that cannot list them keeps retrying) and once draining.
 * The body also names the shards held (`held`): a runner still waiting for its first lease is
 * healthy (another task may hold it), which a single-runner stack must not take for "serving".
 */
export const startHealthServer = async (
  port: number,
  state: () => HealthState,
  held: () => number[] = () => [],
): Promise<{ server: Server; port: number }> => {
  const server = createServer((req, res) => {
    if (req.url !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    const status = state();
    res
      .writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status, held: held() }));
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
};
