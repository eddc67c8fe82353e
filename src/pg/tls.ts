import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { DtsError, exitCodeForSide, type Side } from '../errors.js';
import type { Endpoint, SslMode } from '../task/types.js';

/** libpq's default, also read from PGSSLMODE like libpq does. */
export function effectiveSslMode(endpoint: Endpoint): SslMode {
  return endpoint.sslmode ?? (process.env.PGSSLMODE as SslMode | undefined) ?? 'prefer';
}

function readPem(path: string, what: string, side: Side): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new DtsError('tls-file', `${side}: cannot read ${what} ${path}`, {
      hint: `check ${what} in the task file`,
      exitCode: exitCodeForSide(side),
      cause: e,
    });
  }
}

/**
 * node-postgres TLS settings for one attempt. `prefer` and `allow` are two attempts (TLS first for prefer,
 * plain first for allow), like libpq; `connect` drives the fallback.
 */
export function tlsAttempts(endpoint: Endpoint, side: Side): (false | ConnectionOptions)[] {
  const mode = effectiveSslMode(endpoint);
  const base: ConnectionOptions = {};
  if (endpoint.sslcert) base.cert = readPem(endpoint.sslcert, 'sslcert', side);
  if (endpoint.sslkey) base.key = readPem(endpoint.sslkey, 'sslkey', side);
  const loose: ConnectionOptions = { ...base, rejectUnauthorized: false };
  switch (mode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, loose];
    case 'prefer':
      return [loose, false];
    case 'require':
      // libpq: with a root certificate present, require behaves like verify-ca.
      return [endpoint.sslrootcert ? verifyCa(endpoint, base, side) : loose];
    case 'verify-ca':
      return [verifyCa(endpoint, base, side)];
    case 'verify-full':
      return [
        {
          ...base,
          rejectUnauthorized: true,
          ...(endpoint.sslrootcert ? { ca: readPem(endpoint.sslrootcert, 'sslrootcert', side) } : {}),
          // The name checked against the certificate (node-postgres passes the host too, so an IP address
          // is still checked; as a server name it is refused by TLS and warned about by Node).
          ...(isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
        },
      ];
  }
}

function verifyCa(endpoint: Endpoint, base: ConnectionOptions, side: Side): ConnectionOptions {
  return {
    ...base,
    rejectUnauthorized: true,
    ...(endpoint.sslrootcert ? { ca: readPem(endpoint.sslrootcert, 'sslrootcert', side) } : {}),
    checkServerIdentity: () => undefined,
  };
}
