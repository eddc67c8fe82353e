import { readFileSync } from 'node:fs';
import type { Options, Task } from '../../../src/task/types.js';
import { endpointFor } from '../../harness/endpoint.js';
import { openSession, type TestServer } from '../../harness/pg-server.js';

export const SCHEMA_SQL = readFileSync(
  new URL('../../../fixtures/source-schema.sql', import.meta.url),
  'utf8',
);
export const DATA_SQL = readFileSync(new URL('../../../fixtures/source-data.sql', import.meta.url), 'utf8');
export const EXPECTED_COUNTS = JSON.parse(
  readFileSync(new URL('../../../fixtures/expected-counts.json', import.meta.url), 'utf8'),
) as Record<string, number>;
export const FIXTURE_ROLES = ['dts_fixture_owner', 'dts_fixture_reader'];

/** A `mode: full` task copying one database of `source` into database `targetDatabase` of `target`. */
export function fullTask(
  source: TestServer,
  sourceDatabase: string,
  target: TestServer,
  targetDatabase: string,
  options: Partial<Options> = {},
  name = 'copy',
): Task {
  return {
    name,
    file: `/nowhere/${name}.yaml`,
    schedule: undefined,
    mode: 'full',
    source: endpointFor(source, { database: sourceDatabase }),
    target: endpointFor(target, { database: targetDatabase }),
    objects: { databases: [{ name: sourceDatabase, include: [], exclude: [] }], include: [], exclude: [] },
    options: {
      parallel: 2,
      namePrefix: 'dts',
      splitTableBytes: 1 << 30,
      missingRoles: 'error',
      roleMap: {},
      ...options,
    },
  };
}

export async function loadFixture(server: TestServer, database: string): Promise<void> {
  await server.query(`CREATE DATABASE "${database}"`);
  await server.query(SCHEMA_SQL, [], database);
  await server.query(DATA_SQL, [], database);
}

/** Every ordinary table holding rows of its own (relkind r, partitions and children on their own). */
export async function tablesOf(server: TestServer, database: string): Promise<string[]> {
  const { rows } = await server.query<{ t: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_dts') AND n.nspname !~ '^pg_toast'
     ORDER BY 1`,
    [],
    database,
  );
  return rows.map((r) => r.t);
}

const digestSql = (table: string) =>
  `SELECT count(*)::text AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text COLLATE "C")), '') AS h
   FROM ONLY ${table} t`;

/** A table's rows as one digest (count and md5 over the sorted text forms), ONLY that table. */
export async function digest(server: TestServer, database: string, table: string): Promise<string> {
  const { rows } = await server.query<{ n: string; h: string }>(digestSql(table), [], database);
  return `${rows[0]!.n}:${rows[0]!.h}`;
}

/** `digest()` of each table, read on one session (a connection per table costs more than the digest). */
export async function digests(
  server: TestServer,
  database: string,
  tables: readonly string[],
): Promise<Record<string, string>> {
  const session = await openSession(server, database);
  try {
    const out: Record<string, string> = {};
    for (const t of tables) {
      const { rows } = await session.query<{ n: string; h: string }>(digestSql(t));
      out[t] = `${rows[0]!.n}:${rows[0]!.h}`;
    }
    return out;
  } finally {
    await session.end();
  }
}
