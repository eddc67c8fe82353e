import type { Endpoint } from '../../src/task/types.js';
import type { TestServer } from './pg-server.js';

/** The variable test endpoints read the superuser password from (tests set it to SUPERUSER_PASSWORD). */
export const TEST_PASSWORD_ENV = 'DTS_TEST_PASSWORD';

/** An Endpoint for a test server, logging in as the superuser with the password from TEST_PASSWORD_ENV. */
export function endpointFor(server: TestServer, overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    host: server.host,
    port: server.port,
    user: 'postgres',
    database: 'postgres',
    password: { kind: 'env', variable: TEST_PASSWORD_ENV },
    sslmode: 'disable',
    sslrootcert: undefined,
    sslcert: undefined,
    sslkey: undefined,
    ssh: undefined,
    ...overrides,
  };
}
