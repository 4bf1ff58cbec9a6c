import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { type E2eStack, startE2eStack } from './e2e-stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The loopback URL where a test file asks for the run's shared e2e stack (`sharedE2eStack`). */
    e2eStackBroker: string;
  }
}

/** How long the shared stack outlives its last user: the next e2e file of a lane starts within it. */
const LINGER_MS = 10_000;

/**
 * Global setup of the integration project: one `npm start` stack shared by the e2e files that do
 * not break it, started when the first of them asks (a run without them starts none) and stopped
 * when the last has let go (after `LINGER_MS`) or at the end of the run. Starting and stopping a
 * stack took 20-35 s per file on 2 loaded cores; each file still gets a tenant of its own.
 * `POST /acquire` answers the stack's URLs once it is ready; `POST /release` lets go of it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let stack: Promise<E2eStack> | undefined;
  let users = 0;
  let linger: NodeJS.Timeout | undefined;
  const stop = async () => {
    const current = stack;
    stack = undefined;
    await (await current?.catch(() => undefined))?.stop();
  };
  const server = createServer((req, res) => {
    const answer = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    if (req.method === 'POST' && req.url === '/acquire') {
      clearTimeout(linger);
      users += 1;
      stack ??= startE2eStack({
        name: 'shared-e2e',
        // Webhook retries after ~1 s, 2 s, 4 s instead of 30 s, 1 min, 2 min (webhooks.e2e).
        env: { WEBHOOK_FIRST_RETRY_SECONDS: '1' },
      });
      const starting = stack;
      starting.then(
        ({ api, sim, dataDir }) => answer(200, JSON.stringify({ api, sim, dataDir })),
        (error: unknown) => {
          users -= 1;
          // The next file tries a start of its own.
          if (stack === starting) stack = undefined;
          answer(500, JSON.stringify({ error: String(error) }));
        },
      );
      return;
    }
    if (req.method === 'POST' && req.url === '/release') {
      users = Math.max(0, users - 1);
      if (users === 0) linger = setTimeout(() => void stop(), LINGER_MS);
      return answer(200, '{}');
    }
    answer(404, '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('e2eStackBroker', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return async () => {
    clearTimeout(linger);
    server.closeAllConnections();
    server.close();
    await stop();
  };
}
