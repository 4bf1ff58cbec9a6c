import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/** A loopback TCP relay whose target can be changed: one client URL, several servers in turn. */
export interface TcpSwitch {
  /** The port clients connect to. */
  readonly port: number;
  /** New connections go to `port` from now on; open ones stay where they are. */
  target(port: number): void;
  close(): Promise<void>;
}

/**
 * Starts a {@link TcpSwitch} on 127.0.0.1 (a free port). Lets a test keep one long-lived client
 * (a runner, configured once) while it puts different simulators behind the same URL.
 */
export async function startTcpSwitch(initialTarget: number): Promise<TcpSwitch> {
  let targetPort = initialTarget;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the TCP switch has no port');
  return {
    port: address.port,
    target: (port) => {
      targetPort = port;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
