import { quoteIdent, quoteQualified } from '../pg/quote.js';

/**
 * The SQL of `dts verify`. Rows never travel to dts to be compared: each server hashes its own rows and
 * returns aggregates per bucket; only the rows of buckets that differ are listed, as key values and hashes.
 *
 * Row text form. A row is hashed as `md5(convert_to(ROW(c1, c2, ...)::text, 'UTF8'))`, with the columns
 * named in the source's order (so a different physical column order on the target does not matter). For
 * equal data the text is equal on every major version from 12 on when both sessions run SESSION_SETTINGS:
 * floats print shortest-exact (extra_float_digits >= 1), dates, intervals and time zones in one fixed
 * style, bytea in hex, money in the C locale; jsonb prints canonically, numeric keeps its scale. NULL and
 * '' differ in the row form (an empty field and `""`).
 *
 * Buckets. The first `digits` hex digits of a row's hash name its bucket. A bucket's aggregate is the row
 * count and the sum of the first 64 bits of its row hashes (as signed int8, summed exactly in numeric):
 * order-independent, so no sort is needed and a table without a key is compared as a multiset. A change
 * goes unseen only if two different row texts share their first 64 md5 bits.
 *
 * Narrowing. The rows of the differing buckets are listed on both sides with their key hash (the key is
 * the primary key, or a unique index on NOT NULL columns; the whole row when the table has none) and
 * merged by it: a changed row's old version lies in one differing bucket and its new version in another,
 * and both are listed, so it is matched by key as one changed row.
 */
export const SESSION_SETTINGS = [
  `SET extra_float_digits = 3`,
  `SET DateStyle = 'ISO, YMD'`,
  `SET IntervalStyle = 'postgres'`,
  `SET TimeZone = 'UTC'`,
  `SET bytea_output = 'hex'`,
  `SET lc_monetary = 'C'`,
  `SET statement_timeout = 0`,
] as const;

/**
 * Every ordinary table and partition (relkind r) of the user schemas with its columns in order and the key
 * used to name rows: the primary key, else the replica identity index, else the narrowest unique index
 * on NOT NULL columns without predicate or expressions. No key: `key` is NULL.
 */
export const TABLES_WITH_KEYS = `
SELECT n.nspname AS schema, c.relname AS name,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       (SELECT array_agg(a.attname::text ORDER BY k.ord)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE k.ord <= i.indnkeyatts) AS key
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
  SELECT x.indkey, x.indnkeyatts FROM pg_catalog.pg_index x
  WHERE x.indrelid = c.oid AND x.indisunique AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum = ANY (x.indkey::int2[]) AND NOT a.attnotnull)
  ORDER BY x.indisprimary DESC, x.indisreplident DESC, x.indnkeyatts, x.indexrelid
  LIMIT 1) i ON true
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_dts')
  AND n.nspname !~ '^pg_(toast|temp_)'
ORDER BY 1, 2`;

/** What the bucket and row queries need to know of a table. */
export interface HashedTable {
  readonly schema: string;
  readonly name: string;
  /** Compared columns, in the source's order. */
  readonly columns: readonly string[];
  /** Key columns; empty: the whole row is the key. */
  readonly key: readonly string[];
}

const rowText = (columns: readonly string[]) =>
  `convert_to(ROW(${columns.map(quoteIdent).join(', ')})::text, 'UTF8')`;

/** The row hash `rh` and key hash `kh` of every row (ONLY: each inheritance child is compared alone). */
function hashed(t: HashedTable, extra = ''): string {
  const rh = `md5(${rowText(t.columns)})`;
  const kh = t.key.length ? `md5(${rowText(t.key)})` : rh;
  return `SELECT ${kh} AS kh, ${rh} AS rh${extra} FROM ONLY ${quoteQualified(t.schema, t.name)}`;
}

/**
 * Per bucket: the count and the sum of the row hashes' first 64 bits; only the row hash is computed. With
 * `sampled`, `$1` is a bucket name: only the buckets before it are compared (hex digits in the C collation
 * order as numbers do).
 */
export function bucketSql(t: HashedTable, digits: number, sampled: boolean): string {
  return `SELECT substr(rh, 1, ${digits}) AS bucket, count(*)::text AS n,
  COALESCE(sum(('x' || substr(rh, 1, 16))::bit(64)::int8), 0)::text AS a
FROM (SELECT md5(${rowText(t.columns)}) AS rh FROM ONLY ${quoteQualified(t.schema, t.name)}) h${
    sampled ? `\nWHERE substr(rh, 1, ${digits}) COLLATE "C" < $1` : ''
  }
GROUP BY 1`;
}

/**
 * The rows of some buckets (`$1`, an array of prefixes) as key hash, row hash and each key column's text,
 * ordered by key hash in the C collation: the same order on both servers, so two cursors merge.
 * With `withRow` the row text too (only for --show-rows).
 */
export function rowsSql(t: HashedTable, digits: number, withRow: boolean): string {
  const keyColumns = t.key.map((c, i) => `, ${quoteIdent(c)}::text AS k${i}`).join('');
  const row = withRow ? `, ROW(${t.columns.map(quoteIdent).join(', ')})::text AS row` : '';
  return `SELECT * FROM (${hashed(t, keyColumns + row)}) h
WHERE substr(rh, 1, ${digits}) = ANY ($1::text[])
ORDER BY kh COLLATE "C", rh COLLATE "C"`;
}

/** The apply position of a database as the target's snapshot sees it (see the hold invariant). */
export const APPLIED_POSITION = `
SELECT lsn::text AS lsn FROM _dts.apply_position WHERE task = $1 AND source_database = $2`;

export const APPLY_POSITION_EXISTS = `SELECT pg_catalog.to_regclass('_dts.apply_position') IS NOT NULL AS present`;
