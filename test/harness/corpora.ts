import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SUPERUSER_PASSWORD, type TestServer } from './pg-server.js';

/** The public sample databases in ../shared/corpora beside the checkout (see its README): real schemas dts was not tuned to. */
export const CORPORA = ['pagila', 'sakila', 'chinook', 'northwind'] as const;
export type Corpus = (typeof CORPORA)[number];

export const CORPORA_DIR =
  process.env.DTS_CORPORA_DIR ?? fileURLToPath(new URL('../../../shared/corpora', import.meta.url));

/**
 * Fails loudly when the corpora or psql are missing: a skipped fidelity test would read as a pass.
 * `.ci/run` installs postgresql-client when psql is absent.
 */
export function requireCorpora(): void {
  if (!existsSync(`${CORPORA_DIR}/load.sh`)) {
    throw new Error(`the sample databases are not at ${CORPORA_DIR} (set DTS_CORPORA_DIR)`);
  }
  if (!['/usr/bin/psql', '/usr/local/bin/psql'].some((p) => existsSync(p))) {
    throw new Error('psql is needed to load the sample databases: apt-get install postgresql-client');
  }
}

/** Load corpora into databases of the same name on `server` (dropped and recreated), with the corpora's own psql script. */
export async function loadCorpora(server: TestServer, names: readonly Corpus[]): Promise<void> {
  requireCorpora();
  await promisify(execFile)(`${CORPORA_DIR}/load.sh`, [String(server.port), ...names], {
    env: { ...process.env, PGHOST: server.host, PGUSER: 'postgres', PGPASSWORD: SUPERUSER_PASSWORD },
    maxBuffer: 16 * 1024 * 1024,
  });
}
