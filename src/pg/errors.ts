import { DtsError, exitCodeForSide, type Side } from '../errors.js';
import type { Endpoint } from '../task/types.js';

/** The fields node-postgres puts on a server error (SQLSTATE and friends). */
export interface PgServerError extends Error {
  code?: string;
  detail?: string;
  hint?: string;
  severity?: string;
}

export function isPgServerError(e: unknown): e is PgServerError {
  return e instanceof Error && typeof (e as PgServerError).code === 'string' && 'severity' in e;
}

/** The server's error behind `e`: `e` itself, or the first one down its chain of causes. */
export function serverErrorIn(e: unknown): PgServerError | undefined {
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) if (isPgServerError(c)) return c;
  return undefined;
}

function where(endpoint: Endpoint): string {
  return `${endpoint.host}:${endpoint.port}`;
}

/**
 * Turn a failure to connect into a one-line message with a hint. The password never appears:
 * node-postgres does not put it in its errors, and nothing here reads it.
 */
export function connectError(
  e: unknown,
  side: Side,
  endpoint: Endpoint,
  database: string,
  replication: boolean,
): DtsError {
  const exitCode = exitCodeForSide(side);
  const err = e as NodeJS.ErrnoException & PgServerError;
  const code = err?.code ?? '';
  const at = where(endpoint);
  const make = (c: string, message: string, hint: string) =>
    new DtsError(c, `${side}: ${message}`, { hint, exitCode, cause: e });

  if (e instanceof DtsError) return e;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make('host-not-found', `cannot resolve host "${endpoint.host}"`, 'check the host name and DNS');
    case 'ECONNREFUSED':
      return make(
        'connection-refused',
        `connection refused at ${at}`,
        'check that the server is running and listens on that address and port (listen_addresses, port, firewall)',
      );
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make(
        'connection-timeout',
        `cannot reach ${at} (${code})`,
        'check the network path to the server (firewall, security group, VPN, ssh tunnel)',
      );
    case '28P01':
      return make(
        'bad-password',
        `password authentication failed for user "${endpoint.user}" at ${at}`,
        passwordHint(endpoint),
      );
    case '28000': {
      const kind = replication ? 'replication connections' : `database "${database}"`;
      return make(
        'not-allowed',
        `the server at ${at} refuses ${kind} for user "${endpoint.user}" (pg_hba.conf)`,
        replication
          ? `add a line like "host replication ${endpoint.user} <dts address>/32 scram-sha-256" to pg_hba.conf and reload`
          : `add a line for database "${database}" and user "${endpoint.user}" to pg_hba.conf and reload`,
      );
    }
    case '3D000':
      return make(
        'no-database',
        `database "${database}" does not exist at ${at}`,
        'check the database name in the task file',
      );
    case '53300':
      return make(
        'too-many-connections',
        `the server at ${at} has no free connection slots`,
        'lower options.parallel or raise max_connections',
      );
  }
  const msg = err?.message ?? String(e);
  if (/timeout/i.test(msg)) {
    return make(
      'connection-timeout',
      `timed out connecting to ${at}`,
      'check the network path to the server (firewall, security group, VPN, ssh tunnel)',
    );
  }
  if (/password must be a string|no password supplied/i.test(msg)) {
    return make(
      'no-password',
      `the server at ${at} asks for a password and none was given`,
      passwordHint(endpoint),
    );
  }
  if (/does not support SSL/i.test(msg)) {
    return make(
      'no-tls',
      `the server at ${at} does not accept TLS connections`,
      `set sslmode: disable (or prefer) for the ${side}, or enable ssl on the server`,
    );
  }
  if (/certificate|self[- ]signed|SSL|TLS|altname/i.test(msg)) {
    return make('tls-failed', `TLS to ${at} failed: ${msg}`, `check sslmode and sslrootcert for the ${side}`);
  }
  if (isPgServerError(e)) {
    return make('server-error', `${at}: ${msg} (SQLSTATE ${code})`, err.hint ?? 'see the server log');
  }
  return make('connect-failed', `cannot connect to ${at}: ${msg}`, 'check the connection settings');
}

function passwordHint(endpoint: Endpoint): string {
  switch (endpoint.password.kind) {
    case 'env':
      return `check the value of the environment variable ${endpoint.password.variable}`;
    case 'file':
      return `check the password in ${endpoint.password.path}`;
    default:
      return 'set password: ${SOME_ENV_VAR} in the task file and export that variable, or add the password to ~/.pgpass';
  }
}

/** What dts does with its own state on the target (src/state): failures there name the `_dts` schema. */
const STATE_WORK = /_dts state|runner lock/;

/** A SQL failure after connecting: the server's message with SQLSTATE, detail and hint. */
export function sqlError(e: unknown, side: Side, doing: string): DtsError {
  if (e instanceof DtsError) return e;
  const err = e as PgServerError;
  // A missing or wrongly typed table or column (SQLSTATE class 42) in dts's own schema: it was changed.
  if (STATE_WORK.test(doing) && /^42/.test(err?.code ?? ''))
    return new DtsError('state-damaged', `${side}: ${doing} failed: ${err.message} (SQLSTATE ${err.code})`, {
      hint: 'the _dts schema in the target database was changed by hand or by another dts version; restore it from a backup, or drop it (DROP SCHEMA _dts CASCADE) to forget the progress of every task there',
      exitCode: exitCodeForSide(side),
      cause: e,
    });
  const parts = [`${side}: ${doing} failed: ${err?.message ?? String(e)}`];
  if (err?.code) parts[0] += ` (SQLSTATE ${err.code})`;
  const details = err?.detail ? [`detail: ${err.detail}`] : [];
  return new DtsError('sql-failed', parts[0]!, {
    hint: err?.hint ?? 'see the message above and the server log',
    exitCode: exitCodeForSide(side),
    cause: e,
    details,
  });
}
