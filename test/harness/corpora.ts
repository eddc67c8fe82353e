import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { SUPERUSER_PASSWORD, type TestServer } from './pg-server.js';

/** The public sample databases in /work/shared/corpora (see its README): real schemas dts was not tuned to. */
export const CORPORA = ['pagila', 'sakila', 'chinook', 'northwind'] as const;
export type Corpus = (typeof CORPORA)[number];

export const CORPORA_DIR = process.env.DTS_CORPORA_DIR ?? '/work/shared/corpora';

/** Whether the corpora and psql are on this machine (tests skip themselves otherwise). */
export function corporaAvailable(): boolean {
  return existsSync(`${CORPORA_DIR}/load.sh`) && ['/usr/bin/psql', '/usr/local/bin/psql'].some(existsSync);
}

/** Load corpora into databases of the same name on `server` (dropped and recreated), with the corpora's own psql script. */
export async function loadCorpora(server: TestServer, names: readonly Corpus[]): Promise<void> {
  await promisify(execFile)(`${CORPORA_DIR}/load.sh`, [String(server.port), ...names], {
    env: { ...process.env, PGHOST: server.host, PGUSER: 'postgres', PGPASSWORD: SUPERUSER_PASSWORD },
    maxBuffer: 16 * 1024 * 1024,
  });
}
