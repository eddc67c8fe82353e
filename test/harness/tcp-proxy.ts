import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a test server, standing for the network between dts and that server: `cut()`
 * drops every live connection at once (both ends reset, as a failed link or a firewall would), and while
 * `refuse(true)` holds, new connections are accepted and closed at once (the server seems down).
 */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Connections passed through so far, and open now. */
  readonly opened: number;
  readonly open: number;
  cut(): number;
  refuse(on: boolean): void;
  stop(): Promise<void>;
}

export async function startProxy(to: { host: string; port: number }): Promise<TcpProxy> {
  const live = new Set<Socket>();
  let refusing = false;
  let opened = 0;
  const server = createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    opened++;
    const upstream = connect(to.port, to.host);
    const pair = [client, upstream];
    for (const s of pair) {
      live.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        live.delete(s);
        for (const o of pair) if (!o.destroyed) o.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    get opened() {
      return opened;
    },
    get open() {
      return live.size / 2;
    },
    cut() {
      const n = live.size / 2;
      for (const s of [...live]) s.resetAndDestroy();
      return n;
    },
    refuse(on: boolean) {
      refusing = on;
    },
    async stop() {
      for (const s of [...live]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
