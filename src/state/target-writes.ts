import { displayName } from '../catalog/display.js';
import { connectInstance } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../pg/quote.js';
import type { Task } from '../task/types.js';
import type { Queryable } from './store.js';

/**
 * Writes to the target that dts did not make, while a task syncs. Until the cutover the target must
 * only be written by dts: a row someone else inserts, changes or deletes is overwritten, duplicated or
 * kept by sync depending on what the source does next, and the target no longer equals the source.
 *
 * How they are seen: when sync starts, every table the task copied gets a trigger (AFTER INSERT, UPDATE,
 * DELETE for each row, AFTER TRUNCATE for each statement) that records, in `_dts.target_writes` of that
 * target database, which table was written, how, by whom and when. dts's own apply session never
 * records anything: with `session_replication_role = replica` ordinary triggers do not fire at all, and a
 * role that may not set it sets `dts.applying` (apply/sql.ts), which the trigger function checks first. Each writing
 * transaction is recorded once per table and operation (a transaction-local setting marks it), so a
 * bulk write by someone else costs one upsert, not one per row. The function is SECURITY DEFINER, so
 * a writer needs no privilege on `_dts`. The triggers go at the cutover and at cancel; the records stay.
 */

const FUNCTION = '_dts.note_target_write';
const triggerName = (task: string) => `dts_target_writes_${task}`;

/** The record table and the trigger function, in one target database (idempotent). */
const CREATE = [
  `CREATE SCHEMA IF NOT EXISTS _dts`,
  `CREATE TABLE IF NOT EXISTS _dts.target_writes (
     task text NOT NULL,
     schema_name text NOT NULL,
     table_name text NOT NULL,
     operation text NOT NULL,
     transactions bigint NOT NULL,
     first_at timestamptz NOT NULL,
     last_at timestamptz NOT NULL,
     last_role text NOT NULL,
     last_application text NOT NULL,
     PRIMARY KEY (task, schema_name, table_name, operation)
   )`,
  `REVOKE ALL ON _dts.target_writes FROM PUBLIC`,
  `CREATE OR REPLACE FUNCTION ${FUNCTION}() RETURNS trigger
   LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
   DECLARE
     mark text := 'dts.wrote_' || TG_RELID || '_' || lower(TG_OP);
   BEGIN
     IF current_setting('dts.applying', true) = 'on' OR current_setting(mark, true) = 'on' THEN
       RETURN NULL;
     END IF;
     PERFORM set_config(mark, 'on', true);
     INSERT INTO _dts.target_writes AS w
       VALUES (TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, 1, now(), now(), session_user,
               current_setting('application_name'))
       ON CONFLICT (task, schema_name, table_name, operation) DO UPDATE
       SET transactions = w.transactions + 1, last_at = EXCLUDED.last_at,
           last_role = EXCLUDED.last_role, last_application = EXCLUDED.last_application;
     RETURN NULL;
   END
   $fn$`,
  `REVOKE ALL ON FUNCTION ${FUNCTION}() FROM PUBLIC`,
];

/** A copied table on the target, as `_dts.table_copies` names it. */
export interface WatchedTable {
  readonly schema: string;
  readonly name: string;
}

/**
 * Put the triggers on `tables` of the target database `db` is connected to, in one transaction. Tables
 * that are gone, or already watched, are skipped, so a resumed run does this again harmlessly.
 */
export async function watchTargetWrites(
  db: Queryable,
  task: string,
  tables: readonly WatchedTable[],
): Promise<void> {
  await db.query('BEGIN');
  try {
    for (const s of CREATE) await db.query(s);
    const name = triggerName(task);
    const { rows } = await db.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name
       FROM unnest($1::text[], $2::text[]) AS t(schema, name)
       JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
       JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name AND c.relkind = 'r'
       WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = $3)`,
      [tables.map((t) => t.schema), tables.map((t) => t.name), name],
    );
    for (const t of rows) {
      const on = quoteQualified(t.schema, t.name);
      const args = `${FUNCTION}(${quoteLiteral(task)})`;
      await db.query(
        `CREATE TRIGGER ${quoteIdent(name)} AFTER INSERT OR UPDATE OR DELETE ON ${on} FOR EACH ROW EXECUTE FUNCTION ${args}`,
      );
      await db.query(
        `CREATE TRIGGER ${quoteIdent(`${name}_truncate`)} AFTER TRUNCATE ON ${on} FOR EACH STATEMENT EXECUTE FUNCTION ${args}`,
      );
    }
    await db.query('COMMIT');
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * Remove the task's triggers from the target database `db` is connected to, and the function once no
 * task's trigger uses it. The records in `_dts.target_writes` stay, as history. Nothing there: nothing done.
 */
export async function unwatchTargetWrites(db: Queryable, task: string): Promise<void> {
  await db.query('BEGIN');
  try {
    const { rows } = await db.query<{ schema: string; name: string; trigger: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, g.tgname AS trigger
       FROM pg_catalog.pg_trigger g
       JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE g.tgname::text IN ($1::text, $1::text || '_truncate')`,
      [triggerName(task)],
    );
    for (const t of rows)
      await db.query(
        `DROP TRIGGER IF EXISTS ${quoteIdent(t.trigger)} ON ${quoteQualified(t.schema, t.name)}`,
      );
    const left = await db.query(
      `SELECT 1 FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_proc p ON p.oid = g.tgfoid
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = '_dts' AND p.proname = 'note_target_write' LIMIT 1`,
    );
    if (left.rows.length === 0) await db.query(`DROP FUNCTION IF EXISTS ${FUNCTION}()`);
    await db.query('COMMIT');
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Writes to one table by someone other than dts, as recorded. */
export interface TargetWrite {
  readonly database: string;
  /** `schema.table`, quoted as PostgreSQL prints it. */
  readonly table: string;
  readonly operation: 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';
  /** Transactions that did it (each counted once per table and operation). */
  readonly transactions: number;
  readonly firstAt: string;
  readonly lastAt: string;
  readonly lastRole: string;
  readonly lastApplication: string;
}

/** What `_dts.target_writes` of the database `db` is connected to holds for the task (none: empty). */
export async function readTargetWrites(
  db: Queryable,
  task: string,
  database: string,
): Promise<TargetWrite[]> {
  const present = await db.query<{ ok: boolean }>(
    `SELECT pg_catalog.to_regclass('_dts.target_writes') IS NOT NULL AS ok`,
  );
  if (!present.rows[0]?.ok) return [];
  const { rows } = await db.query<{
    schema_name: string;
    table_name: string;
    operation: TargetWrite['operation'];
    transactions: string;
    first_at: Date;
    last_at: Date;
    last_role: string;
    last_application: string;
  }>(
    `SELECT schema_name, table_name, operation, transactions::text, first_at, last_at, last_role, last_application
     FROM _dts.target_writes WHERE task = $1 ORDER BY schema_name, table_name, operation`,
    [task],
  );
  return rows.map((r) => ({
    database,
    table: displayName(r.schema_name, r.table_name),
    operation: r.operation,
    transactions: Number(r.transactions),
    firstAt: new Date(r.first_at).toISOString(),
    lastAt: new Date(r.last_at).toISOString(),
    lastRole: r.last_role,
    lastApplication: r.last_application,
  }));
}

/**
 * The writes of each table for people: `2 INSERT, 1 TRUNCATE transaction(s), the last at ... by role
 * (application)`.
 */
export function writesByTable(
  writes: readonly TargetWrite[],
): { database: string; table: string; text: string }[] {
  const byTable = new Map<string, TargetWrite[]>();
  for (const w of writes) {
    const key = `${w.database}\0${w.table}`;
    byTable.set(key, [...(byTable.get(key) ?? []), w]);
  }
  return [...byTable.values()].map((ws) => {
    const last = ws.reduce((a, b) => (b.lastAt > a.lastAt ? b : a));
    const ops = ws.map((w) => `${w.transactions} ${w.operation}`).join(', ');
    const app = last.lastApplication ? ` (${last.lastApplication})` : '';
    return {
      database: last.database,
      table: last.table,
      text: `${ops} transaction(s), the last at ${last.lastAt} by ${last.lastRole}${app}`,
    };
  });
}

/** One line per table: `shop: public.items: 2 INSERT transaction(s), the last at ... by ...`. */
export const describeTargetWrites = (writes: readonly TargetWrite[]): string[] =>
  writesByTable(writes).map((w) => `${displayName(w.database)}: ${w.table}: ${w.text}`);

/** A session the caller already has open on one target database, used instead of a new one. */
export interface OpenSession {
  readonly database: string;
  readonly db: Queryable;
}

/**
 * Each target database once, connected, for `fn`; a database that no longer exists is skipped. The
 * database of `open` goes through that session.
 */
async function eachTargetDatabase<T>(
  task: Task,
  databases: readonly string[],
  deps: { readonly prompt?: PasswordPrompt; readonly open?: OpenSession },
  fn: (db: Queryable, database: string) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  for (const database of [...new Set(databases)]) {
    if (deps.open?.database === database) {
      out.push(...(await fn(deps.open.db, database)));
      continue;
    }
    const c = await connectInstance(task.target, {
      side: 'target',
      database,
      ...(deps.prompt ? { prompt: deps.prompt } : {}),
    });
    try {
      if (c.missingDatabase === undefined) out.push(...(await fn(c.client, database)));
    } finally {
      await c.close();
    }
  }
  return out;
}

/**
 * The task's triggers removed from each of its target databases (cutover, cancel), and what they
 * recorded, read on the same session.
 */
export async function unwatchTask(
  task: Task,
  databases: readonly string[],
  deps: { readonly prompt?: PasswordPrompt } = {},
): Promise<TargetWrite[]> {
  return eachTargetDatabase(task, databases, deps, async (db, database) => {
    await unwatchTargetWrites(db, task.name).catch((e: unknown) => {
      throw sqlError(e, 'target', 'removing the triggers that watch for writes to the target');
    });
    return readTargetWrites(db, task.name, database).catch((e: unknown) => {
      throw sqlError(e, 'target', 'reading _dts.target_writes');
    });
  });
}

/** What every target database of the task recorded of writes not made by dts. */
export async function readTaskTargetWrites(
  task: Task,
  databases: readonly string[],
  deps: { readonly prompt?: PasswordPrompt; readonly open?: OpenSession } = {},
): Promise<TargetWrite[]> {
  return eachTargetDatabase(task, databases, deps, (db, database) =>
    readTargetWrites(db, task.name, database).catch((e: unknown) => {
      throw sqlError(e, 'target', 'reading _dts.target_writes');
    }),
  );
}

/**
 * The triggers put on every table the task copied, in each target database (when sync starts). The
 * tables come from `_dts.table_copies` in the state database `state`.
 */
export async function watchTask(
  task: Task,
  loads: readonly { readonly sourceDatabase: string; readonly targetDatabase: string }[],
  state: Queryable,
  deps: { readonly prompt?: PasswordPrompt } = {},
): Promise<void> {
  for (const l of loads) {
    const { rows } = await state
      .query<WatchedTable>(
        `SELECT DISTINCT schema_name AS schema, table_name AS name FROM _dts.table_copies
         WHERE task = $1 AND source_database = $2`,
        [task.name, l.sourceDatabase],
      )
      .catch((e: unknown) => {
        throw sqlError(e, 'target', 'reading _dts.table_copies');
      });
    await eachTargetDatabase(task, [l.targetDatabase], deps, async (db) => {
      await watchTargetWrites(db, task.name, rows).catch((e: unknown) => {
        throw sqlError(e, 'target', 'adding the triggers that watch for writes to the target');
      });
      return [];
    });
  }
}
