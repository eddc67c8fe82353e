import { quoteIdent, quoteQualified } from '../pg/quote.js';

/**
 * Every statement the applier runs on the target. Identifiers go through quoteIdent; values are always
 * parameters, sent as text and read by the target column's input function: untyped where they are assigned
 * to a column (INSERT, SET), cast to the column's type (format_type from the target catalog) where they are
 * compared with one.
 */

/** The apply session: replica role (no user triggers, no FK checks) is tried separately, it may be refused. */
export const SET_REPLICA_ROLE = `SET session_replication_role = replica`;

/** The apply session's join settings: keyed batches find their rows by index (see SESSION_SETTINGS). */
export const JOINS_OFF = [`SET enable_hashjoin = off`, `SET enable_mergejoin = off`] as const;

/**
 * Durable commits (the slot is confirmed right after COMMIT returns, so a commit that could still vanish
 * in a target crash must not be acknowledged) and the input settings matching the source's output ones.
 */
export const SESSION_SETTINGS = [
  `SET synchronous_commit = on`,
  `SET DateStyle = 'ISO, YMD'`,
  `SET IntervalStyle = 'postgres'`,
  `SET TimeZone = 'UTC'`,
  `SET statement_timeout = 0`,
  // Batched statements carry values as literals (see literal()): a backslash must mean itself.
  `SET standard_conforming_strings = on`,
  // Not a write by someone else (state/target-writes.ts), also where the replica role was refused.
  `SET dts.applying = 'on'`,
  // Multi-row UPDATE ... FROM and DELETE ... USING (arrays or VALUES) find each row by its key's index
  // (TableMap.keyIndexed); statements of a table without one turn these on around them (JOINS_ON).
  ...JOINS_OFF,
] as const;

/** Around the keyed statements of a table whose key has no index on the target: any join may be best. */
export const JOINS_ON = [`SET enable_hashjoin = on`, `SET enable_mergejoin = on`] as const;

/**
 * The checkpoint: one row per task and source database, in the target database the changes go to, so the
 * position and the changes it covers commit in the same transaction.
 */
export const CREATE_CHECKPOINT = [
  `CREATE SCHEMA IF NOT EXISTS _dts`,
  `CREATE TABLE IF NOT EXISTS _dts.apply_position (
     task text NOT NULL,
     source_database text NOT NULL,
     slot text NOT NULL,
     lsn pg_lsn NOT NULL,
     transactions bigint NOT NULL DEFAULT 0,
     updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
     PRIMARY KEY (task, source_database)
   )`,
] as const;

export const READ_CHECKPOINT = `
SELECT lsn::text AS lsn, transactions::text AS transactions FROM _dts.apply_position
WHERE task = $1 AND source_database = $2`;

/** Moves forward only: zero rows updated means another process moved it, and the batch must not commit. */
export const WRITE_CHECKPOINT = `
INSERT INTO _dts.apply_position AS p (task, source_database, slot, lsn, transactions)
VALUES ($1, $2, $3, $4::pg_lsn, $5::bigint)
ON CONFLICT (task, source_database) DO UPDATE
  SET lsn = excluded.lsn, slot = excluded.slot, transactions = p.transactions + excluded.transactions,
      updated_at = pg_catalog.now()
  WHERE p.lsn < excluded.lsn`;

/**
 * A target table's columns, to map a source Relation message onto and to notice schema changes. A domain's
 * base is peeled to the bottom (a domain over a domain too), as pgoutput names it in its Type message.
 */
export const TARGET_TABLE = `
SELECT c.relkind::text AS relkind, a.attname::text AS name, a.atttypid::text AS type_oid,
       a.atttypmod::text AS type_mod, tn.nspname::text AS type_schema, t.typname::text AS type_name,
       t.typelem::text AS type_elem, coalesce(d.base, 0)::text AS type_base, a.attgenerated::text AS generated,
       a.attidentity::text AS identity,
       bn.nspname::text AS base_schema, b.typname::text AS base_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_display,
       (t.typarray <> 0 AND t.typcategory <> 'A' AND coalesce(b.typcategory, '') <> 'A'
        AND t.typtype <> 'c' AND coalesce(b.typtype, '') <> 'c' AND t.typdelim = ',') AS arrayable
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN LATERAL (
  WITH RECURSIVE peel(base, depth) AS (
    SELECT t.typbasetype, 1 WHERE t.typtype = 'd'
    UNION ALL
    SELECT x.typbasetype, p.depth + 1 FROM peel p JOIN pg_catalog.pg_type x ON x.oid = p.base WHERE x.typtype = 'd'
  )
  SELECT base FROM peel ORDER BY depth DESC LIMIT 1
) d ON true
LEFT JOIN pg_catalog.pg_type b ON b.oid = d.base
LEFT JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
ORDER BY a.attnum`;

/** How a column is matched in a WHERE clause. */
export interface MatchColumn {
  readonly name: string;
  /** NULL-safe (REPLICA IDENTITY FULL) rather than plain equality (key columns are never NULL). */
  readonly nullSafe: boolean;
  /** Compare text forms: the type has no equality operator (json, xml, point) or a misleading one (box). */
  readonly asText: boolean;
  /**
   * The target column's type as format_type() printed it in this same session (so with the same
   * search_path it names the same type), for the parameter's cast: an untyped parameter compared with a
   * composite column would be read as an anonymous record.
   */
  readonly type: string;
  /**
   * `type[]`, when values of the column can travel as elements of one array literal (updateValues): not
   * for an array type (unnest would flatten it), a composite type (unnest in FROM would spread it over
   * several columns), a domain over either, or a type whose array delimiter is not a comma (box).
   */
  readonly arrayType?: string;
}

/**
 * `INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)`: consecutive inserts into one table in one round trip.
 * `overriding` writes the source's values into GENERATED ALWAYS identity columns, which refuse them otherwise.
 */
export function insertRows(
  schema: string,
  table: string,
  columns: readonly string[],
  rows: number,
  overriding = false,
): string {
  const n = columns.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const ps: string[] = [];
    for (let c = 1; c <= n; c++) ps.push(`$${r * n + c}`);
    tuples.push(`(${ps.join(', ')})`);
  }
  const override = overriding ? ' OVERRIDING SYSTEM VALUE' : '';
  return `INSERT INTO ${quoteQualified(schema, table)} (${columns.map(quoteIdent).join(', ')})${override} VALUES ${tuples.join(', ')}`;
}

function conditions(match: readonly MatchColumn[], firstParam: number): string {
  return conditionsOn(
    match,
    match.map((_, i) => `$${firstParam + i}`),
  );
}

/** `col = value` for each match column; `values` are parameter references or literals, uncast. */
function conditionsOn(match: readonly MatchColumn[], values: readonly string[], qualifier = ''): string {
  if (match.length === 0) return 'true';
  return match
    .map((m, i) => {
      const p = values[i]!;
      const col = qualifier + quoteIdent(m.name);
      const [lhs, rhs] = m.asText ? [`${col}::text`, `${p}::text`] : [col, `${p}::${m.type}`];
      return m.nullSafe ? `${lhs} IS NOT DISTINCT FROM ${rhs}` : `${lhs} = ${rhs}`;
    })
    .join(' AND ');
}

/**
 * The WHERE clause that picks the one row a change is about. With a key it is the key; without one
 * (REPLICA IDENTITY FULL) several identical rows may match, and exactly one of them must change, so the
 * row is chosen by ctid (with tableoid for a partitioned table, where ctids repeat across partitions).
 */
function whereOne(
  schema: string,
  table: string,
  match: readonly MatchColumn[],
  firstParam: number,
  full: boolean,
  partitioned: boolean,
): string {
  return pickOne(schema, table, conditions(match, firstParam), full, partitioned);
}

function pickOne(schema: string, table: string, cond: string, full: boolean, partitioned: boolean): string {
  if (!full) return cond;
  const t = quoteQualified(schema, table);
  return partitioned
    ? `(tableoid, ctid) = (SELECT tableoid, ctid FROM ${t} WHERE ${cond} LIMIT 1)`
    : `ctid = (SELECT ctid FROM ${t} WHERE ${cond} LIMIT 1)`;
}

/** `UPDATE t SET a = $1 WHERE ...`: parameters are the SET values, then the match values. */
export function updateRow(
  schema: string,
  table: string,
  set: readonly string[],
  match: readonly MatchColumn[],
  full: boolean,
  partitioned: boolean,
): string {
  const assignments = set.map((c, i) => `${quoteIdent(c)} = $${i + 1}`).join(', ');
  return `UPDATE ${quoteQualified(schema, table)} SET ${assignments} WHERE ${whereOne(schema, table, match, set.length + 1, full, partitioned)}`;
}

export function deleteRow(
  schema: string,
  table: string,
  match: readonly MatchColumn[],
  full: boolean,
  partitioned: boolean,
): string {
  return `DELETE FROM ${quoteQualified(schema, table)} WHERE ${whereOne(schema, table, match, 1, full, partitioned)}`;
}

/**
 * TRUNCATE as the source ran it. pgoutput lists every relation actually truncated (inheritance children
 * included), so plain tables get ONLY; a partitioned table cannot be truncated ONLY and has no rows itself.
 */
export function truncate(
  tables: readonly { schema: string; name: string; partitioned: boolean }[],
  restartIdentity: boolean,
  cascade: boolean,
): string {
  const list = tables.map((t) => `${t.partitioned ? '' : 'ONLY '}${quoteQualified(t.schema, t.name)}`);
  return `TRUNCATE TABLE ${list.join(', ')}${restartIdentity ? ' RESTART IDENTITY' : ''}${cascade ? ' CASCADE' : ''}`;
}

/*
 * Batched statements. Many of them go to the target in one simple-protocol round trip (a parameter list
 * belongs to one statement, and node-pg does not pipeline), so values are literals there: the source's
 * text form, quotes doubled (standard_conforming_strings is on in the apply session, so a backslash is
 * itself), read by the target type's input function exactly as a text parameter would be.
 */

/** A value as an SQL literal: `'it''s'` or `NULL`. Text values cannot contain NUL. */
export function literal(v: string | null): string {
  if (v === null) return 'NULL';
  return v.includes("'") ? `'${v.replaceAll("'", "''")}'` : `'${v}'`;
}

/** `('a', NULL)`: one row of a VALUES list. */
export function tuple(values: readonly (string | null)[]): string {
  let out = '(';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ', ') + literal(values[i]!);
  return out + ')';
}

/**
 * `INSERT INTO t (a, b) VALUES ('1', '2'), ('3', NULL)`: rows are tuple() strings; the literals are untyped
 * and take the column types, like parameters do.
 */
export function insertValues(
  schema: string,
  table: string,
  columns: readonly string[],
  rows: readonly string[],
  overriding = false,
): string {
  const override = overriding ? ' OVERRIDING SYSTEM VALUE' : '';
  return `INSERT INTO ${quoteQualified(schema, table)} (${columns.map(quoteIdent).join(', ')})${override} VALUES ${rows.join(', ')}`;
}

/**
 * `COPY t (a, b) FROM STDIN`: a long run of inserts into one table goes as COPY, which costs the target
 * about half the CPU of a multi-row INSERT of the same rows (no statement to parse, no VALUES list to
 * plan). Text format: values are read by the same input functions. COPY writes the source's values into
 * GENERATED ALWAYS identity columns without OVERRIDING SYSTEM VALUE.
 */
export function copyIn(schema: string, table: string, columns: readonly string[]): string {
  return `COPY ${quoteQualified(schema, table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One row in COPY's text format: tab-separated, `\N` for NULL, and backslash, newline, carriage return and
 * tab escaped with a backslash (every other character, multi-byte ones included, stands for itself).
 */
export function copyRow(values: readonly (string | null)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0) line += '\t';
    if (v === null) line += '\\N';
    else line += COPY_SPECIAL.test(v) ? v.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]!) : v;
  }
  return line + '\n';
}

/** A column assigned by a batched UPDATE, with the target type its values are read as. */
export type SetColumn = Pick<MatchColumn, 'name' | 'type' | 'arrayType'>;

/**
 * A VALUES list whose first row casts each literal to its column's type: the other rows' untyped literals
 * then resolve to that type and go through its input function too (never a text-to-type cast).
 */
function valuesList(types: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  let out = '';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (r > 0) out += ', ' + tuple(row);
    else out += `(${row.map((v, i) => `${literal(v)}::${types[i]!}`).join(', ')})`;
  }
  return out;
}

const keyType = (m: MatchColumn) => (m.asText ? 'text' : m.type);
const keyArrayType = (m: MatchColumn) => (m.asText ? 'text[]' : m.arrayType);

function keyJoin(key: readonly MatchColumn[]): string {
  return key
    .map((m, i) => `${m.asText ? `t.${quoteIdent(m.name)}::text` : `t.${quoteIdent(m.name)}`} = d.k${i}`)
    .join(' AND ');
}

/**
 * Column `col` of `rows` as an array literal, `'{"a","b\\"c",NULL}'`: every element double-quoted (so
 * empty strings, spaces, braces, commas and the word NULL stay themselves) with backslash and double quote
 * escaped by a backslash, SQL NULL bare, then quotes doubled for the SQL string. The target reads each
 * element with the element type's input function, as it reads a VALUES literal.
 */
export function arrayLiteral(rows: readonly (readonly (string | null)[])[], col: number): string {
  let out = "'{";
  for (let r = 0; r < rows.length; r++) {
    const v = rows[r]![col]!;
    if (r > 0) out += ',';
    if (v === null) {
      out += 'NULL';
      continue;
    }
    let e = ARRAY_SPECIAL.test(v) ? v.replace(ARRAY_ESCAPE, '\\$&') : v;
    if (e.includes("'")) e = e.replaceAll("'", "''");
    out += '"' + e + '"';
  }
  return out + "}'";
}

const ARRAY_SPECIAL = /["\\]/;
const ARRAY_ESCAPE = /["\\]/g;

/**
 * The rows of a multi-row UPDATE or DELETE as a relation `d(k0, ..., s0, ...)`: one array per column,
 * unnested, when every column can travel in an array; otherwise a VALUES list. The target parses one
 * literal per column instead of one per value, and plans no list of rows: about 10 µs of its CPU per
 * updated row against 15 to 18 µs (bench/apply/statements.ts).
 */
function rowsRelation(
  names: readonly string[],
  types: readonly string[],
  arrayTypes: readonly (string | undefined)[],
  rows: readonly (readonly (string | null)[])[],
): string {
  if (arrayTypes.every((t) => t !== undefined))
    return `unnest(${arrayTypes.map((t, i) => `${arrayLiteral(rows, i)}::${t}`).join(', ')}) AS d(${names.join(', ')})`;
  return `(VALUES ${valuesList(types, rows)}) AS d(${names.join(', ')})`;
}

/**
 * Many rows of one table updated in one statement, each picked by its key:
 * `UPDATE t AS t SET "v" = d.s0 FROM unnest('{"1","2"}'::integer[], '{"x","y"}'::text[]) AS d(k0, s0)
 * WHERE t."id" = d.k0` (or `FROM (VALUES ('1'::integer, 'x'::text), ('2', 'y')) AS d(k0, s0)`).
 * Each row is the key values (the old key when the key changed) followed by the SET values. The keys of
 * one statement must be distinct (an UPDATE changes a row once, with any one matching row of d).
 */
export function updateValues(
  schema: string,
  table: string,
  key: readonly MatchColumn[],
  set: readonly SetColumn[],
  rows: readonly (readonly (string | null)[])[],
): string {
  const names = [...key.map((_, i) => `k${i}`), ...set.map((_, i) => `s${i}`)];
  const types = [...key.map(keyType), ...set.map((c) => c.type)];
  const arrayTypes = [...key.map(keyArrayType), ...set.map((c) => c.arrayType)];
  const assignments = set.map((c, i) => `${quoteIdent(c.name)} = d.s${i}`).join(', ');
  return `UPDATE ${quoteQualified(schema, table)} AS t SET ${assignments} FROM ${rowsRelation(names, types, arrayTypes, rows)} WHERE ${keyJoin(key)}`;
}

/** Many rows of one table deleted by key: `DELETE FROM t AS t USING unnest(...) AS d(k0) WHERE t."id" = d.k0`. */
export function deleteValues(
  schema: string,
  table: string,
  key: readonly MatchColumn[],
  rows: readonly (readonly (string | null)[])[],
): string {
  const names = key.map((_, i) => `k${i}`);
  return `DELETE FROM ${quoteQualified(schema, table)} AS t USING ${rowsRelation(names, key.map(keyType), key.map(keyArrayType), rows)} WHERE ${keyJoin(key)}`;
}

/** updateRow() with literals: one row, for REPLICA IDENTITY FULL (NULL-safe, one row by ctid). */
export function updateOne(
  schema: string,
  table: string,
  set: readonly { name: string; value: string | null }[],
  match: readonly MatchColumn[],
  values: readonly (string | null)[],
  full: boolean,
  partitioned: boolean,
): string {
  const assignments = set.map((c) => `${quoteIdent(c.name)} = ${literal(c.value)}`).join(', ');
  const cond = conditionsOn(match, values.map(literal));
  return `UPDATE ${quoteQualified(schema, table)} SET ${assignments} WHERE ${pickOne(schema, table, cond, full, partitioned)}`;
}

/** deleteRow() with literals. */
export function deleteOne(
  schema: string,
  table: string,
  match: readonly MatchColumn[],
  values: readonly (string | null)[],
  full: boolean,
  partitioned: boolean,
): string {
  const cond = conditionsOn(match, values.map(literal));
  return `DELETE FROM ${quoteQualified(schema, table)} WHERE ${pickOne(schema, table, cond, full, partitioned)}`;
}

/**
 * The target table's unique indexes and exclusion constraints, as one row per index and column (an
 * expression adds no column; an index of expressions only is one row with a NULL name), to know whether rows with distinct keys can be updated in any order.
 */
export const TARGET_UNIQUE_INDEXES = `
SELECT i.indexrelid::text AS index, a.attname::text AS name
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey) AND a.attnum > 0
WHERE n.nspname = $1 AND c.relname = $2 AND (i.indisunique OR i.indisexclusion)`;
