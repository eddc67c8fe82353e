import pg from 'pg';
import { DtsError, type Side } from '../errors.js';
import type { Endpoint } from '../task/types.js';
import { connectError } from './errors.js';
import { resolvePassword, type PasswordPrompt } from './password.js';
import { openTunnel, type OpenTunnel } from './ssh-tunnel.js';
import { tlsAttempts } from './tls.js';

export interface ConnectOptions {
  readonly side: Side;
  /** Defaults to the endpoint's database. */
  readonly database?: string;
  /** A `replication=database` walsender connection (for slots and streaming). */
  readonly replication?: boolean;
  /** Asked once when the server wants a password and none is configured. */
  readonly prompt?: PasswordPrompt;
  readonly connectTimeoutMs?: number;
  /** Return every value as the server's text (for moving data); catalog reads keep node-postgres' parsers. */
  readonly rawValues?: boolean;
}

/** A connected client and whatever must be closed with it (an ssh tunnel). */
export interface Connection {
  readonly client: pg.Client;
  readonly side: Side;
  readonly database: string;
  close(): Promise<void>;
}

// Values keep their text form: dts carries data between servers and must not reinterpret it.
const rawTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** Open one connection to the source or target, through its ssh tunnel when it has one. */
export async function connect(endpoint: Endpoint, opts: ConnectOptions): Promise<Connection> {
  const database = opts.database ?? endpoint.database;
  const replication = opts.replication ?? false;
  let password = await resolvePassword(endpoint, opts.side);
  let tunnel: OpenTunnel | undefined;
  if (endpoint.ssh) tunnel = await openTunnel(endpoint.ssh, endpoint.host, endpoint.port, opts.side);
  const host = tunnel ? '127.0.0.1' : endpoint.host;
  const port = tunnel ? tunnel.localPort : endpoint.port;
  let prompted = false;
  const attempts = tlsAttempts(endpoint, opts.side);
  let lastError: unknown;
  try {
    for (let i = 0; i < attempts.length; i++) {
      const client = new pg.Client({
        host,
        port,
        user: endpoint.user,
        database,
        ...(password === undefined ? {} : { password }),
        ssl: attempts[i]!,
        connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
        application_name: 'dts',
        ...(opts.rawValues ? { types: rawTypes } : {}),
        ...(replication ? { replication: 'database' } : {}),
      } as pg.ClientConfig);
      client.on('error', () => {
        // A connection lost while idle surfaces on the next query; without a listener it would crash the process.
      });
      try {
        await client.connect();
        return {
          client,
          side: opts.side,
          database,
          close: async () => {
            await client.end().catch(() => undefined);
            await tunnel?.close();
          },
        };
      } catch (e) {
        lastError = e;
        await client.end().catch(() => undefined);
        const msg = (e as Error)?.message ?? '';
        const needsPassword =
          password === undefined &&
          /password must be a string|no password supplied|28P01/.test(msg + (e as { code?: string }).code);
        if (needsPassword && opts.prompt && !prompted) {
          prompted = true;
          password = await opts.prompt(
            `Password for ${endpoint.user}@${endpoint.host}:${endpoint.port} (${opts.side})`,
          );
          i--;
          continue;
        }
        const tlsRelated = /SSL|TLS|certificate/i.test(msg) || (e as { code?: string }).code === '28000';
        if (!tlsRelated || i === attempts.length - 1) break;
      }
    }
    throw connectError(lastError, opts.side, endpoint, database, replication);
  } catch (e) {
    await tunnel?.close();
    if (e instanceof DtsError) throw e;
    throw connectError(e, opts.side, endpoint, database, replication);
  }
}

/** Run `fn` with a connection and always close it. */
export async function withConnection<T>(
  endpoint: Endpoint,
  opts: ConnectOptions,
  fn: (c: Connection) => Promise<T>,
): Promise<T> {
  const conn = await connect(endpoint, opts);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/**
 * Connect to the endpoint's database or, when it does not exist yet (dts is about to create it), to a
 * maintenance database of the same instance, for instance-wide reads (roles, databases).
 */
export async function connectInstance(
  endpoint: Endpoint,
  opts: ConnectOptions,
): Promise<Connection & { readonly missingDatabase: string | undefined }> {
  const wanted = opts.database ?? endpoint.database;
  try {
    return { ...(await connect(endpoint, opts)), missingDatabase: undefined };
  } catch (e) {
    if (!(e instanceof DtsError) || e.code !== 'no-database') throw e;
    for (const fallback of ['postgres', 'template1'].filter((d) => d !== wanted)) {
      try {
        return { ...(await connect(endpoint, { ...opts, database: fallback })), missingDatabase: wanted };
      } catch {
        // try the next maintenance database
      }
    }
    throw e;
  }
}
