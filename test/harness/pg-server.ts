import {
  startLocalServer,
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
