/**
 * dts' durable state on the target, in the schema `_dts` of the target endpoint's database. dts never
 * migrates or compares `_dts` (every catalog read leaves it out). Creating it needs only CREATE on that
 * database, no superuser. Every statement is idempotent: `run` creates what is missing each time.
 *
 * Watermarks, documented once:
 * - `loads.consistent_point` is the LSN of the source slot's consistent point. The copied rows are the
 *   source as of exactly that point; incremental sync applies transactions that commit after it.
 * - `databases.pre_data_at` / `post_data_at` are set after that schema phase COMMITTED in the database; a
 *   resumed run skips the phase in each database that has it. A crash between the commit and this record
 *   is covered by the mark the phase writes in its own transaction (schema-marks.ts).
 * - `table_copies.done` is set in its own statement after the unit's COPY committed on the target, so
 *   `done` never claims rows that are not there (the reverse, rows without `done`, is possible after a
 *   crash, and such a unit is copied again: whole tables are truncated first).
 */
export const CREATE_STATE = [
  `CREATE SCHEMA IF NOT EXISTS _dts`,
  `CREATE TABLE IF NOT EXISTS _dts.tasks (
     task text PRIMARY KEY,
     mode text NOT NULL,
     phase text NOT NULL,
     started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
     updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
   )`,
  `CREATE TABLE IF NOT EXISTS _dts.loads (
     task text NOT NULL,
     source_database text NOT NULL,
     target_database text NOT NULL,
     slot text NOT NULL,
     temporary_slot boolean NOT NULL,
     consistent_point pg_lsn NOT NULL,
     snapshot_name text NOT NULL,
     snapshot_at timestamptz NOT NULL,
     phase text NOT NULL,
     started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
     finished_at timestamptz,
     PRIMARY KEY (task, source_database)
   )`,
  `CREATE TABLE IF NOT EXISTS _dts.table_copies (
     task text NOT NULL,
     source_database text NOT NULL,
     schema_name text NOT NULL,
     table_name text NOT NULL,
     part int NOT NULL,
     parts int NOT NULL,
     format text NOT NULL,
     rows bigint NOT NULL DEFAULT 0,
     bytes bigint NOT NULL DEFAULT 0,
     done boolean NOT NULL DEFAULT false,
     started_at timestamptz,
     finished_at timestamptz,
     PRIMARY KEY (task, source_database, schema_name, table_name, part)
   )`,
  `CREATE TABLE IF NOT EXISTS _dts.timings (
     task text NOT NULL,
     source_database text NOT NULL,
     phase text NOT NULL,
     started_at timestamptz NOT NULL,
     finished_at timestamptz,
     PRIMARY KEY (task, source_database, phase)
   )`,
  // Added for status, cancel and resume; ADD COLUMN IF NOT EXISTS upgrades a `_dts` made by an older dts.
  `ALTER TABLE _dts.tasks
     ADD COLUMN IF NOT EXISTS runner_pid int,
     ADD COLUMN IF NOT EXISTS runner_host text,
     ADD COLUMN IF NOT EXISTS runner_started_at timestamptz,
     ADD COLUMN IF NOT EXISTS runner_backend_pid int,
     ADD COLUMN IF NOT EXISTS cancel_requested_at timestamptz`,
  `CREATE TABLE IF NOT EXISTS _dts.databases (
     task text NOT NULL,
     source_database text NOT NULL,
     target_database text NOT NULL,
     created_database boolean NOT NULL,
     pre_data_at timestamptz,
     post_data_at timestamptz,
     PRIMARY KEY (task, source_database)
   )`,
  // Added for full+incremental: `dts complete` asks the runner to cut over at `cutover_lsn` (the source's
  // WAL insert position when asked); the runner records the outcome.
  `ALTER TABLE _dts.tasks
     ADD COLUMN IF NOT EXISTS cutover_lsn pg_lsn,
     ADD COLUMN IF NOT EXISTS cutover_requested_at timestamptz,
     ADD COLUMN IF NOT EXISTS completed_at timestamptz,
     ADD COLUMN IF NOT EXISTS sync_transactions bigint`,
] as const;

export const UPSERT_TASK = `
INSERT INTO _dts.tasks (task, mode, phase) VALUES ($1, $2, $3)
ON CONFLICT (task) DO UPDATE SET mode = excluded.mode, phase = excluded.phase, updated_at = pg_catalog.now()`;

/** Who runs the task now; `backend_pid` is the server process holding the runner lock. */
export const SET_RUNNER = `
UPDATE _dts.tasks SET runner_pid = $2, runner_host = $3, runner_started_at = $4, runner_backend_pid = $5,
                      cancel_requested_at = NULL
WHERE task = $1`;

export const REQUEST_CANCEL = `UPDATE _dts.tasks SET cancel_requested_at = pg_catalog.now() WHERE task = $1`;

export const UPSERT_DATABASE = `
INSERT INTO _dts.databases (task, source_database, target_database, created_database) VALUES ($1, $2, $3, $4)
ON CONFLICT (task, source_database) DO UPDATE
  SET target_database = excluded.target_database,
      created_database = _dts.databases.created_database OR excluded.created_database`;

export const SET_PRE_DATA_DONE = `
UPDATE _dts.databases SET pre_data_at = pg_catalog.now() WHERE task = $1 AND source_database = $2`;

export const SET_POST_DATA_DONE = `
UPDATE _dts.databases SET post_data_at = pg_catalog.now() WHERE task = $1 AND source_database = $2`;

/**
 * Every unit of a database's plan, before any is started, in one statement (status never sees half a
 * plan): status counts tables done out of all. Arrays of schema, table, part, parts, format. (The
 * several-argument unnest() exists only unqualified, in FROM.)
 */
export const UNITS_PLANNED = `
INSERT INTO _dts.table_copies (task, source_database, schema_name, table_name, part, parts, format)
SELECT $1, $2, u.schema_name, u.table_name, u.part, u.parts, u.format
FROM unnest($3::text[], $4::text[], $5::int[], $6::int[], $7::text[])
       AS u(schema_name, table_name, part, parts, format)
ON CONFLICT (task, source_database, schema_name, table_name, part) DO NOTHING`;

export const SET_TASK_PHASE = `UPDATE _dts.tasks SET phase = $2, updated_at = pg_catalog.now() WHERE task = $1`;

/** A new load of a database replaces the previous one's records. */
export const FORGET_LOAD = [
  `DELETE FROM _dts.loads WHERE task = $1 AND source_database = $2`,
  `DELETE FROM _dts.table_copies WHERE task = $1 AND source_database = $2`,
  `DELETE FROM _dts.timings WHERE task = $1 AND source_database = $2`,
] as const;

export const INSERT_LOAD = `
INSERT INTO _dts.loads (task, source_database, target_database, slot, temporary_slot, consistent_point,
                        snapshot_name, snapshot_at, phase)
VALUES ($1, $2, $3, $4, $5, $6::pg_lsn, $7, $8, $9)`;

export const SET_LOAD_PHASE = `
UPDATE _dts.loads SET phase = $3, finished_at = CASE WHEN $3 = 'done' THEN pg_catalog.now() END
WHERE task = $1 AND source_database = $2`;

export const PHASE_STARTED = `
INSERT INTO _dts.timings (task, source_database, phase, started_at) VALUES ($1, $2, $3, pg_catalog.now())
ON CONFLICT (task, source_database, phase) DO UPDATE SET started_at = pg_catalog.now(), finished_at = NULL`;

export const PHASE_FINISHED = `
UPDATE _dts.timings SET finished_at = pg_catalog.now() WHERE task = $1 AND source_database = $2 AND phase = $3`;

export const UNIT_STARTED = `
INSERT INTO _dts.table_copies (task, source_database, schema_name, table_name, part, parts, format, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, pg_catalog.now())
ON CONFLICT (task, source_database, schema_name, table_name, part) DO UPDATE
  SET parts = excluded.parts, format = excluded.format, rows = 0, bytes = 0, done = false,
      started_at = pg_catalog.now(), finished_at = NULL`;

export const UNIT_DONE = `
UPDATE _dts.table_copies SET rows = $6, bytes = $7, done = true, finished_at = pg_catalog.now()
WHERE task = $1 AND source_database = $2 AND schema_name = $3 AND table_name = $4 AND part = $5`;

export const READ_TASK = `
SELECT task, mode, phase, started_at, updated_at, runner_pid, runner_host, runner_started_at, runner_backend_pid,
       cancel_requested_at, cutover_lsn::text AS cutover_lsn, cutover_requested_at, completed_at,
       sync_transactions::text AS sync_transactions
FROM _dts.tasks WHERE task = $1`;

/**
 * The first request wins: a runner may already be draining to it, and any later position would only
 * make the cutover wait longer. Returns the position in force.
 */
export const REQUEST_CUTOVER = `
UPDATE _dts.tasks SET cutover_lsn = COALESCE(cutover_lsn, $2::pg_lsn),
                      cutover_requested_at = COALESCE(cutover_requested_at, pg_catalog.now())
WHERE task = $1
RETURNING cutover_lsn::text AS cutover_lsn, cutover_requested_at`;

/** What the runner polls for while syncing. */
export const READ_CUTOVER = `
SELECT cutover_lsn::text AS cutover_lsn, cutover_requested_at FROM _dts.tasks
WHERE task = $1 AND cutover_lsn IS NOT NULL`;

export const SET_COMPLETED = `
UPDATE _dts.tasks SET phase = 'completed', completed_at = pg_catalog.now(), sync_transactions = $2,
                      updated_at = pg_catalog.now()
WHERE task = $1`;

/** Transactions applied into one target database (the apply checkpoint counts them; see apply/sql.ts). */
export const APPLIED_TRANSACTIONS = `
SELECT COALESCE(sum(transactions), 0)::text AS transactions FROM _dts.apply_position
WHERE task = $1 AND source_database = $2`;

export const READ_DATABASES = `
SELECT source_database, target_database, created_database, pre_data_at, post_data_at
FROM _dts.databases WHERE task = $1 ORDER BY source_database`;

/** Forget a task entirely (cancel --drop-target). */
export const FORGET_TASK = [
  `DELETE FROM _dts.table_copies WHERE task = $1`,
  `DELETE FROM _dts.timings WHERE task = $1`,
  `DELETE FROM _dts.loads WHERE task = $1`,
  `DELETE FROM _dts.databases WHERE task = $1`,
  `DELETE FROM _dts.tasks WHERE task = $1`,
] as const;

export const READ_LOADS = `
SELECT source_database, target_database, slot, temporary_slot, consistent_point::text AS consistent_point,
       snapshot_name, snapshot_at, phase, started_at, finished_at
FROM _dts.loads WHERE task = $1 ORDER BY source_database`;

export const READ_TABLE_COPIES = `
SELECT source_database, schema_name, table_name, part, parts, format, rows::text AS rows, bytes::text AS bytes,
       done, started_at, finished_at
FROM _dts.table_copies WHERE task = $1 ORDER BY source_database, schema_name, table_name, part`;

export const READ_TIMINGS = `
SELECT source_database, phase, started_at, finished_at FROM _dts.timings WHERE task = $1
ORDER BY started_at`;

/** Is the state there at all (status on a target nothing ran against yet)? */
export const STATE_EXISTS = `SELECT pg_catalog.to_regclass('_dts.tasks') IS NOT NULL AS present`;

/**
 * The runner lock: a session-level advisory lock on the target, keyed (LOCK_SPACE, hashtext(name)). It is
 * held by one dedicated connection for the whole run and goes away with that session, so a killed runner
 * never leaves it behind. `dts cancel` holds a second key of the same space while it waits for the runner.
 */
export const LOCK_SPACE = 0x647473; // 'dts'
export const runnerLockName = (task: string) => `dts:run:${task}`;
export const cancelLockName = (task: string) => `dts:cancel:${task}`;

export const TRY_LOCK = `SELECT pg_catalog.pg_try_advisory_lock($1::int4, pg_catalog.hashtext($2)) AS locked`;
export const UNLOCK = `SELECT pg_catalog.pg_advisory_unlock($1::int4, pg_catalog.hashtext($2)) AS unlocked`;

/**
 * Who holds a lock key, in any database of the instance (advisory locks only conflict within a database,
 * and a runner locks in the target database or, before dts created it, a maintenance database). Readable
 * without privileges: pg_locks is public.
 */
export const LOCK_HOLDERS = `
SELECT l.pid, d.datname AS database
FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_database d ON d.oid = l.database
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.classid = $1::int4::oid AND l.objid = pg_catalog.hashtext($2)::oid
ORDER BY l.pid`;
