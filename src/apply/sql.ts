import { quoteIdent, quoteQualified } from '../pg/quote.js';

/**
 * Every statement the applier runs on the target. Identifiers go through quoteIdent; values are always
 * parameters, sent as text and read by the target column's input function: untyped where they are assigned
 * to a column (INSERT, SET), cast to the column's type (format_type from the target catalog) where they are
 * compared with one.
 */

/** The apply session: replica role (no user triggers, no FK checks) is tried separately, it may be refused. */
export const SET_REPLICA_ROLE = `SET session_replication_role = replica`;

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
] as const;

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
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_display
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
  if (match.length === 0) return 'true';
  return match
    .map((m, i) => {
      const p = `$${firstParam + i}`;
      const col = quoteIdent(m.name);
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
  const cond = conditions(match, firstParam);
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
