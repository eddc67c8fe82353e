import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { Server, utils, type Connection } from 'ssh2';

/**
 * A real SSH server (the ssh2 package's server side) on 127.0.0.1 that allows public-key login for one
 * user and forwards direct-tcpip channels, like a bastion in front of a private database network.
 */
export interface Bastion {
  readonly port: number;
  readonly user: string;
  /** OpenSSH private key the client logs in with. */
  readonly clientPrivateKey: string;
  /** A known_hosts line that pins this bastion's host key. */
  readonly knownHostsLine: string;
  /** How many channels were forwarded (proves traffic went through the tunnel). */
  forwarded(): number;
  stop(): Promise<void>;
}

export async function startBastion(user = 'jump'): Promise<Bastion> {
  const hostKey = utils.generateKeyPairSync('ed25519');
  const clientKey = utils.generateKeyPairSync('ed25519');
  const allowed = utils.parseKey(clientKey.public);
  if (allowed instanceof Error) throw allowed;
  let channels = 0;
  const connections = new Set<Connection>();
  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.username === user) {
        const pub = allowed.getPublicSSH();
        const same =
          ctx.key.algo === allowed.type &&
          pub.length === ctx.key.data.length &&
          timingSafeEqual(pub, ctx.key.data);
        if (same && (!ctx.signature || allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true)) {
          ctx.accept();
          return;
        }
      }
      ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('tcpip', (accept, reject, info) => {
        const upstream = tcpConnect(info.destPort, info.destIP);
        upstream.once('connect', () => {
          channels++;
          const channel = accept();
          channel.pipe(upstream).pipe(channel);
          channel.on('error', () => upstream.destroy());
          upstream.on('error', () => channel.destroy());
        });
        upstream.once('error', () => reject());
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const hostPublic = hostKey.public.split(' ').slice(0, 2).join(' ');
  return {
    port,
    user,
    clientPrivateKey: clientKey.private,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPublic}`,
    forwarded: () => channels,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.end();
        server.close(() => resolve());
      }),
  };
}
