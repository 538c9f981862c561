import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** While true, a connection that sends a command matching `command` goes silent for good. */
  silencing: boolean;
  command: RegExp;
  /**
   * Whether the matching command still reaches the server (only its reply, and everything after,
   * is held back) or is held back itself.
   */
  forwardMatch: boolean;
  /** Called the moment a connection goes silent. */
  onSilenced?: () => void;
  /** Connections silenced so far. */
  silenced(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy to `target` on a free loopback port that can make chosen connections go silent:
 * their sockets stay open, nothing passes either way, as with a half-dead NAT entry or a
 * failed-over endpoint that still accepts packets.
 */
export async function startTcpProxy(target: { host: string; port: number }, command: RegExp): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let silenced = 0;
  const proxy: TcpProxy = {
    port: 0,
    silencing: false,
    command,
    forwardMatch: false,
    silenced: () => silenced,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    let silent = false;
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => {
      if (!silent && proxy.silencing && proxy.command.test(chunk.toString('latin1'))) {
        if (proxy.forwardMatch) upstream.write(chunk);
        silent = true;
        silenced++;
        proxy.onSilenced?.();
      }
      if (!silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!silent) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  return proxy;
}
