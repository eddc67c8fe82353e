import { createHash } from 'node:crypto';
import pg from 'pg';
import { openSession, type TestServer } from './pg-server.js';

/**
 * Row-for-row comparison of two databases, for tests: every user table (ordinary tables and leaf
 * partitions, `_dts` left out) as the sorted text forms of its rows, read with settings that make text
 * forms exact and equal across servers (UTC, ISO dates, shortest-exact floats). Values longer than a few
 * hundred characters are replaced by their length and md5, so a difference in a 2 MB value stays readable.
 */

/** Session settings under which a value's text form identifies it exactly. */
export const EXACT_TEXT_SETTINGS = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
  SET extra_float_digits = 3; SET bytea_output = 'hex'; SET lc_monetary = 'C'; SET xmloption = 'content'`;

async function connect(server: TestServer, database: string): Promise<pg.Client> {
  const c = await openSession(server, database);
  await c.query(EXACT_TEXT_SETTINGS);
  return c;
}

function short(v: string | null): string {
  if (v === null) return 'NULL';
  if (v.length <= 300) return JSON.stringify(v);
  return `<${v.length} chars md5 ${createHash('md5').update(v).digest('hex')}>`;
}

/** Every user table of a database (leaf tables holding rows), as quoted schema.table names. */
export async function userTables(server: TestServer, database: string): Promise<string[]> {
  const { rows } = await server.query<{ t: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_dts')
       AND n.nspname !~ '^pg_toast' ORDER BY 1`,
    [],
    database,
  );
  return rows.map((r) => r.t);
}

const SEP = '\u0001';

/**
 * Differences as lines; a missing and an extra row with the same first column (the key in these tests)
 * show only the columns that differ.
 */
function explain(table: string, off: [string, number][]): string[] {
  const lines: string[] = [];
  const extra = new Map(off.filter(([, n]) => n < 0).map(([r]) => [r.split(SEP)[0], r]));
  const paired = new Set<string>();
  for (const [r, n] of off.filter(([, k]) => k > 0)) {
    const other = extra.get(r.split(SEP)[0]);
    if (other !== undefined && !paired.has(other)) {
      paired.add(other);
      const a = r.split(SEP);
      const b = other.split(SEP);
      const cols = a.flatMap((v, i) => (v === b[i] ? [] : [`${v} on the source, ${b[i]} on the target`]));
      lines.push(`${table} ${a[0]}: ${cols.join('; ')}`);
    } else lines.push(`${table}: missing ${n}x ${r.replaceAll(SEP, ' ')}`);
  }
  for (const [r, n] of off.filter(([, k]) => k < 0))
    if (!paired.has(r)) lines.push(`${table}: extra ${-n}x ${r.replaceAll(SEP, ' ')}`);
  return lines;
}

/** A table's rows, each as `col=value` pairs in column order, sorted. */
export async function tableRows(server: TestServer, database: string, table: string): Promise<string[]> {
  const c = await connect(server, database);
  try {
    const cols = await c.query<{ name: string }>(
      `SELECT quote_ident(attname) AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0
       AND NOT attisdropped ORDER BY attnum`,
      [table],
    );
    const names = cols.rows.map((r) => r.name);
    const { rows } = await c.query({
      text: `SELECT ${names.map((n) => `${n}::text`).join(', ')} FROM ONLY ${table}`,
      rowMode: 'array',
    });
    return (rows as (string | null)[][])
      .map((r) => r.map((v, i) => `${names[i]}=${short(v)}`).join(SEP))
      .sort();
  } finally {
    await c.end();
  }
}

/** Every user table of both databases: the same tables, each with the same rows. */
export async function compareDatabases(
  source: TestServer,
  sourceDb: string,
  target: TestServer,
  targetDb: string,
): Promise<{ tables: string[]; differences: string[]; rows: number }> {
  const tables = await userTables(source, sourceDb);
  const onTarget = await userTables(target, targetDb);
  const differences: string[] = [];
  let count = 0;
  for (const t of tables.filter((x) => !onTarget.includes(x)))
    differences.push(`${t}: missing on the target`);
  for (const t of onTarget.filter((x) => !tables.includes(x))) differences.push(`${t}: only on the target`);
  for (const t of tables.filter((x) => onTarget.includes(x))) {
    const want = await tableRows(source, sourceDb, t);
    const got = await tableRows(target, targetDb, t);
    count += want.length;
    const counts = new Map<string, number>();
    for (const r of want) counts.set(r, (counts.get(r) ?? 0) + 1);
    for (const r of got) counts.set(r, (counts.get(r) ?? 0) - 1);
    const off = [...counts].filter(([, n]) => n !== 0);
    differences.push(...explain(t, off).slice(0, 10));
  }
  return { tables, differences, rows: count };
}
