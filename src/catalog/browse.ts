import type pg from 'pg';

/**
 * What a person can pick when creating a task: the databases of the source instance, and the schemas
 * and tables of one database. System objects and dts's own `_dts` state are never offered.
 */

/** Anything that runs a query: a client, a pool, a Connection's client. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface DatabaseInfo {
  readonly name: string;
  /** On-disk size; undefined when the user may not connect to the database (sizes need CONNECT). */
  readonly sizeBytes: number | undefined;
}

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  /** The planner's estimate (reltuples): enough to help pick, never used for copying. -1: never analysed. */
  readonly estimatedRows: number;
}

/** Every database a task could migrate: not a template, accepting connections, not dts's state. */
const SQL_SELECTABLE_DATABASES = `
SELECT d.datname AS name,
       CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) END AS size_bytes
FROM pg_database d
WHERE NOT d.datistemplate
  AND d.datallowconn
  AND d.datname <> '_dts'
ORDER BY d.datname`;

/**
 * User schemas of the current database, including empty ones (they still hold views and functions).
 * pg_* are reserved for the system (catalog, toast, temp); extension-owned schemas come with their extension.
 */
const SQL_USER_SCHEMAS = `
SELECT n.nspname AS name
FROM pg_namespace n
WHERE n.nspname !~ '^pg_'
  AND n.nspname NOT IN ('information_schema', '_dts')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = 'pg_namespace'::regclass AND e.objid = n.oid AND e.deptype = 'e')
ORDER BY n.nspname`;

/**
 * Tables a task selects by pattern: ordinary and partitioned tables. Partitions are left out (they move
 * with their parent), and so are tables owned by an extension (CREATE EXTENSION makes them on the target).
 */
const SQL_USER_TABLES = `
SELECT n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS estimated_rows
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname !~ '^pg_'
  AND n.nspname NOT IN ('information_schema', '_dts')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY n.nspname, c.relname`;

export async function listDatabases(db: Queryable): Promise<DatabaseInfo[]> {
  const r = await db.query<{ name: string; size_bytes: string | null }>(SQL_SELECTABLE_DATABASES);
  return r.rows.map((row) => ({
    name: row.name,
    sizeBytes: row.size_bytes === null ? undefined : Number(row.size_bytes),
  }));
}

export async function listSchemas(db: Queryable): Promise<string[]> {
  const r = await db.query<{ name: string }>(SQL_USER_SCHEMAS);
  return r.rows.map((row) => row.name);
}

export async function listTables(db: Queryable): Promise<TableInfo[]> {
  const r = await db.query<{ schema: string; name: string; estimated_rows: number }>(SQL_USER_TABLES);
  return r.rows.map((row) => ({ schema: row.schema, name: row.name, estimatedRows: row.estimated_rows }));
}
