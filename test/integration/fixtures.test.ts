import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteQualified } from '../../src/pg/quote.js';
import { startServer, type PgVersion, type TestServer } from '../harness/pg-server.js';

// The fixture must load unchanged on the oldest and newest server dts supports; later migration tests
// load it as their source and compare the target against expected-counts.json.

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');
const schemaSql = fixture('source-schema.sql');
const dataSql = fixture('source-data.sql');
const expectedCounts = JSON.parse(fixture('expected-counts.json')) as Record<string, number>;

const VERSIONS: readonly PgVersion[] = [14, 18];
const DB = 'fixture';

interface Loaded {
  readonly server: TestServer;
  readonly error?: unknown;
}

const loaded = new Map<PgVersion, Loaded>();

async function load(version: PgVersion): Promise<Loaded> {
  const server = await startServer({ version });
  try {
    await server.query(`CREATE DATABASE ${DB}`);
    await server.query(schemaSql, undefined, DB);
    await server.query(dataSql, undefined, DB);
    return { server };
  } catch (error) {
    return { server, error };
  }
}

beforeAll(async () => {
  const results = await Promise.allSettled(VERSIONS.map(load));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') loaded.set(VERSIONS[i]!, r.value);
  });
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
});

afterAll(async () => {
  await Promise.all([...loaded.values()].map((l) => l.server.stop()));
});

/**
 * Rows stored in each ordinary table itself (`FROM ONLY`): partitions and inheritance children count on
 * their own, partitioned parents hold nothing. Keyed like expected-counts.json, `format('%I.%I')`.
 */
async function rowCounts(server: TestServer): Promise<Record<string, number>> {
  const tables = await server.query<{ key: string; schema: string; name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS key, n.nspname AS schema, c.relname AS name
     FROM pg_catalog.pg_class c
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY 1`,
    undefined,
    DB,
  );
  const sql = tables.rows
    .map(
      (t, i) =>
        `SELECT $${i + 1}::text AS key, count(*)::int AS n FROM ONLY ${quoteQualified(t.schema, t.name)}`,
    )
    .join('\nUNION ALL\n');
  const counts = await server.query<{ key: string; n: number }>(
    sql,
    tables.rows.map((t) => t.key),
    DB,
  );
  return Object.fromEntries(counts.rows.map((r) => [r.key, r.n]));
}

describe.each(VERSIONS)('fixture on PostgreSQL %i', (version) => {
  const q = async <R extends Record<string, unknown>>(sql: string): Promise<R[]> =>
    (await loaded.get(version)!.server.query<R>(sql, undefined, DB)).rows;

  it('loads both files without error', () => {
    expect(loaded.get(version)?.error).toBeUndefined();
  });

  it('has exactly the row counts in expected-counts.json, and no rows elsewhere', async () => {
    const counts = await rowCounts(loaded.get(version)!.server);
    const nonEmpty = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
    expect(nonEmpty).toEqual(expectedCounts);
  });

  it('keeps a primary key on every table outside the nokey schema', async () => {
    const rows = await q<{ key: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS key
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'nokey')
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
         AND c.oid <> 'app.regional_sales'::regclass`,
    );
    // app.regional_sales has keys only on its partitions: its partition key column, region, may be NULL.
    expect(rows).toEqual([]);
  });

  it('round-trips special numbers', async () => {
    const rows = await q<{ label: string; num: string; f8: string }>(
      `SELECT label, num::text AS num, f8::text AS f8 FROM app.numbers
       WHERE label IN ('nan', 'negative zero', 'tiny', '-infinity') ORDER BY id`,
    );
    expect(rows).toEqual([
      { label: 'negative zero', num: '0', f8: '-0' },
      { label: 'nan', num: 'NaN', f8: 'NaN' },
      { label: '-infinity', num: '-Infinity', f8: '-Infinity' },
      { label: 'tiny', num: `0.${'0'.repeat(16382)}1`, f8: '1e-308' },
    ]);
  });

  it('round-trips microsecond timestamps, BC dates and intervals', async () => {
    const rows = await q<{ utc: string; d: string; iv: string }>(
      `SELECT (tstz AT TIME ZONE 'UTC')::text AS utc, d::text AS d, iv::text AS iv
       FROM app.temporal WHERE label IN ('offset -07', 'bc') ORDER BY id`,
    );
    expect(rows).toEqual([
      { utc: '2024-06-01 19:34:56.123456', d: '2024-06-01', iv: '-1 days +02:03:04.5' },
      { utc: '0044-03-15 12:00:00 BC', d: '4714-11-24 BC', iv: '2147483647 days' },
    ]);
  });

  it('round-trips bytes and text exactly', async () => {
    const [zeros] = await q<{ hex: string; raw: Buffer }>(
      `SELECT encode(b, 'hex') AS hex, b AS raw FROM app.texts WHERE label = 'bytea with zero bytes'`,
    );
    expect(zeros).toEqual({ hex: '00010200ff0000', raw: Buffer.from([0, 1, 2, 0, 255, 0, 0]) });
    const [quoted] = await q<{ t: string }>(`SELECT t FROM app.texts WHERE label = 'quotes and escapes'`);
    expect(quoted!.t).toBe('single \' double " backslash \\ newline\nCR\r tab\t end');
    const [empty] = await q<{ t: string | null }>(`SELECT t FROM app.texts WHERE label = 'empty string'`);
    expect(empty!.t).toBe('');
  });

  it('keeps json text as written and jsonb escapes decoded', async () => {
    const [row] = await q<{ js: string; esc: string }>(
      `SELECT js::text AS js, jb->>'esc' AS esc FROM app.structured WHERE label = 'nested unicode'`,
    );
    expect(row!.js).toBe('{ "k" : 1 ,  "k" : 2 ,\n      "nested": {"a": [1, 2.50, null]} }');
    expect(row!.esc).toBe('quote " backslash \\ nl \n tab \t e-acute é smile 😀');
  });

  it('stores the large values out of line, byte for byte', async () => {
    let text = '';
    for (let i = 1; i <= 40000; i++) text += createHash('md5').update(String(i)).digest('hex');
    const [row] = await q<{ len: number; md5: string; bin_len: number; toast_bytes: string }>(
      `SELECT length(big_text) AS len, md5(big_text) AS md5, octet_length(big_bin) AS bin_len,
              pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'app.blobs'::regclass))::text
                AS toast_bytes
       FROM app.blobs WHERE name = 'large'`,
    );
    expect(row).toMatchObject({ len: 1_280_000, md5: createHash('md5').update(text).digest('hex') });
    expect(row!.bin_len).toBe(1_120_000);
    expect(Number(row!.toast_bytes)).toBeGreaterThan(2_000_000);
  });

  it('keeps enum order, sequence state, the unpopulated matview and the large object', async () => {
    const [state] = await q<{
      moods: string;
      invoice: string;
      populated: boolean[];
      lo_len: number;
    }>(
      `SELECT (SELECT string_agg(enumlabel::text, ',' ORDER BY enumsortorder) FROM pg_enum
               WHERE enumtypid = 'app.mood'::regtype) AS moods,
              (SELECT last_value || '/' || is_called FROM app.invoice_no_seq) AS invoice,
              (SELECT array_agg(relispopulated ORDER BY relname) FROM pg_class
               WHERE relname IN ('daily_event_counts', 'unpopulated_summary')) AS populated,
              length(lo_get((SELECT lo FROM app.lo_refs WHERE id = 1))) AS lo_len`,
    );
    expect(state).toEqual({
      moods: 'sad,meh,ok,happy,ecstatic',
      invoice: '7000/false',
      populated: [true, false],
      lo_len: 10_017,
    });
  });
});
