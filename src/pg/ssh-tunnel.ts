import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { DtsError, exitCodeForSide, type Side } from '../errors.js';
import type { SshTunnel } from '../task/types.js';

/** A local port that forwards to `remoteHost:remotePort` through an ssh bastion. */
export interface OpenTunnel {
  readonly localPort: number;
  close(): Promise<void>;
}

/** Base64 host keys listed for `host` (or `[host]:port`) in a known_hosts file. Hashed entries are not supported. */
export function knownHostKeys(knownHostsText: string, host: string, port: number): string[] {
  const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  const keys: string[] = [];
  for (const line of knownHostsText.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0]!.startsWith('#')) continue;
    const hosts = fields[0]!.split(',');
    if (hosts.some((h) => names.includes(h))) keys.push(fields[2]!);
  }
  return keys;
}

/**
 * Open an ssh connection to the bastion and listen on 127.0.0.1 on a free port; each local connection
 * becomes a direct-tcpip channel to the database server. The private key is read from its file and never logged.
 */
export async function openTunnel(
  ssh: SshTunnel,
  remoteHost: string,
  remotePort: number,
  side: Side,
): Promise<OpenTunnel> {
  const fail = (message: string, hint: string, cause?: unknown) =>
    new DtsError('ssh-failed', `${side}: ${message}`, { hint, exitCode: exitCodeForSide(side), cause });
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(ssh.privateKey);
  } catch (e) {
    throw fail(
      `cannot read the ssh private key ${ssh.privateKey}`,
      'check ssh.privateKey in the task file',
      e,
    );
  }
  let expected: string[] | undefined;
  if (ssh.knownHosts) {
    try {
      expected = knownHostKeys(readFileSync(ssh.knownHosts, 'utf8'), ssh.host, ssh.port);
    } catch (e) {
      throw fail(`cannot read ${ssh.knownHosts}`, 'check ssh.knownHosts in the task file', e);
    }
  }
  // Loaded here: most tasks have no tunnel, and the ssh library is a tenth of a second of start-up.
  const { Client: SshClient } = await import('ssh2');
  const conn = new SshClient();
  await new Promise<void>((resolve, reject) => {
    conn.once('ready', () => resolve());
    conn.once('error', (e) =>
      reject(
        fail(
          `ssh to ${ssh.user}@${ssh.host}:${ssh.port} failed: ${e.message}`,
          'check the ssh host, user, key and that the bastion allows port forwarding',
          e,
        ),
      ),
    );
    conn.connect({
      host: ssh.host,
      port: ssh.port,
      username: ssh.user,
      privateKey,
      readyTimeout: 15_000,
      ...(expected ? { hostVerifier: (key: Buffer) => expected!.includes(key.toString('base64')) } : {}),
    });
  });
  const server: Server = createServer((socket) => {
    conn.forwardOut('127.0.0.1', 0, remoteHost, remotePort, (err, stream) => {
      if (err) {
        socket.destroy(err);
        return;
      }
      socket.pipe(stream).pipe(socket);
      socket.on('error', () => stream.destroy());
      stream.on('error', () => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    localPort: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        conn.end();
      }),
  };
}
