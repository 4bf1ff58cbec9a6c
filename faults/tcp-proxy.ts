import { createConnection, createServer, type Socket } from 'node:net';

/** A TCP proxy on loopback in front of a stand-in, which a fault scenario can cut and restore. */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>` of the proxy. */
  endpoint: string;
  /** From now on every connection is reset at once, and the open ones are dropped: the stand-in is "stopped". */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Forwards every connection to `target` (`http://host:port`) until cut. */
export const startTcpProxy = async (target: string): Promise<TcpProxy> => {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: hostname, port: Number(port) });
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('proxy did not bind');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    cut: () => {
      down = true;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
    },
    restore: () => {
      down = false;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
