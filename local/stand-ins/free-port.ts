import { createServer } from 'node:net';

/**
 * Ports are drawn below Linux's ephemeral range (32768–60999): a port the kernel hands out itself
 * (listen on 0) is also what the next outgoing connection of any process may take as its local
 * port, so between this probe and the server's own bind it was often gone (EADDRINUSE) while
 * several stacks ran side by side.
 */
const FIRST = 20_000;
const LAST = 32_767;

const tryPort = (port: number): Promise<number | undefined> =>
  new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });

/** A loopback port that was free a moment ago, for servers that cannot bind port 0 themselves. */
export const freePort = async (): Promise<number> => {
  for (let i = 0; i < 50; i++) {
    const port = await tryPort(FIRST + Math.floor(Math.random() * (LAST - FIRST + 1)));
    if (port !== undefined) return port;
  }
  const port = await tryPort(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
};
