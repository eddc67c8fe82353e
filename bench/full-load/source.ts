import { readFileSync } from 'node:fs';
import type { TestServer } from '../../test/harness/pg-server.js';

const DATASET_SQL = readFileSync(new URL('./dataset.sql', import.meta.url), 'utf8');

/** One source table, its heap bytes (main fork plus its TOAST table's) and its row count. */
export interface BenchTable {
  readonly name: string;
  readonly heapBytes: number;
  readonly rows: number;
}

/**
 * Build the dataset in `database` (created here) at `scale`, then freeze and analyze it, so that no
 * method pays for hint bits the others get for free.
 */
export async function generate(source: TestServer, database: string, scale: number): Promise<void> {
  await source.query(`CREATE DATABASE ${database}`);
  // One session: the seed and the scale are session settings. Statements in one simple query.
  await source.query(`SET bench.scale = '${scale}';\n${DATASET_SQL}`, [], database);
  await source.query('VACUUM (FREEZE, ANALYZE)', [], database);
}

/** Every ordinary table of the public schema, biggest first, with sizes and exact row counts. */
export async function describeTables(source: TestServer, database: string): Promise<BenchTable[]> {
  const { rows } = await source.query<{ name: string; heap: string }>(
    `SELECT c.relname AS name,
            pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0) AS heap
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r'
     ORDER BY 2 DESC, 1`,
    [],
    database,
  );
  const counts = await countRows(
    source,
    database,
    rows.map((r) => r.name),
  );
  return rows.map((r) => ({ name: r.name, heapBytes: Number(r.heap), rows: counts.get(r.name) ?? -1 }));
}

/** Exact row counts of `tables` (names of our own dataset: plain identifiers), in one query. */
export async function countRows(
  server: TestServer,
  database: string,
  tables: readonly string[],
): Promise<Map<string, number>> {
  const present = new Set(
    (
      await server.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r'`,
        [],
        database,
      )
    ).rows.map((r) => r.name),
  );
  const wanted = tables.filter((t) => present.has(t));
  const counts = new Map<string, number>();
  if (wanted.length === 0) return counts;
  const sql = wanted
    .map((t) => `SELECT '${t}' AS name, count(*)::bigint AS n FROM ONLY public."${t}"`)
    .join('\nUNION ALL\n');
  for (const r of (await server.query<{ name: string; n: string }>(sql, [], database)).rows)
    counts.set(r.name, Number(r.n));
  return counts;
}

/** Indexes (primary keys included) of the public schema: every method must build all of them. */
export async function countIndexes(server: TestServer, database: string): Promise<number> {
  const { rows } = await server.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
    [],
    database,
  );
  return rows[0]!.n;
}

/**
 * Compare the target with the source: row counts of every table, and the number of indexes. Returns
 * what differs.
 */
export async function verifyCounts(
  target: TestServer,
  database: string,
  tables: readonly BenchTable[],
  sourceIndexes: number,
): Promise<{ readonly matched: number; readonly problems: readonly string[] }> {
  const counts = await countRows(
    target,
    database,
    tables.map((t) => t.name),
  );
  const problems: string[] = [];
  for (const t of tables) {
    const n = counts.get(t.name);
    if (n === undefined) problems.push(`${t.name}: missing on the target`);
    else if (n !== t.rows) problems.push(`${t.name}: ${n} rows on the target, ${t.rows} on the source`);
  }
  const matched = tables.length - problems.length;
  const indexes = await countIndexes(target, database);
  if (indexes !== sourceIndexes)
    problems.push(`${indexes} indexes on the target, ${sourceIndexes} on the source`);
  return { matched, problems };
}
