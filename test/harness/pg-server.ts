import pg from 'pg';
import {
  startLocalServer,
  startLocalStandby,
  type LocalServer,
  type PgVersion,
  type ServerOptions,
} from '../../src/demo/servers.js';

/**
 * Test servers: the same throwaway servers `dts demo` uses (src/demo/servers.ts), all with one known
 * superuser password so tests can grep every output for it to prove it never leaks.
 */
export type { PgVersion };
export type TestServer = LocalServer;

export const SUPERUSER_PASSWORD = 'harness-Secret-7f3a9';

export function startServer(opts: Omit<ServerOptions, 'password'>): Promise<TestServer> {
  return startLocalServer({ ...opts, password: SUPERUSER_PASSWORD });
}

/**
 * A hot standby of a test server (same version, hot_standby_feedback on unless `settings` say otherwise),
 * streaming from it through a physical slot. Stop it before its primary.
 */
export function startStandby(
  primary: TestServer,
  settings?: Readonly<Record<string, string>>,
): Promise<TestServer> {
  return startLocalStandby(primary, { password: SUPERUSER_PASSWORD, ...(settings ? { settings } : {}) });
}

/**
 * One superuser session on a test server, for a workload of many small transactions: `query()` connects
 * anew for each statement, which costs more than the statement. The caller ends it.
 */
export async function openSession(server: TestServer, database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    database,
  });
  await client.connect();
  return client;
}
