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
  // Only the task's target role (the schema's owner) reads or writes the state, whatever default
  // privileges the role carries (ALTER DEFAULT PRIVILEGES ... ON SCHEMAS TO PUBLIC would open it). Only
  // when needed: concurrent GRANT/REVOKE on one schema can fail with "tuple concurrently updated".
  `DO $$ BEGIN
     IF pg_catalog.has_schema_privilege('public', '_dts', 'USAGE')
        OR pg_catalog.has_schema_privilege('public', '_dts', 'CREATE') THEN
       REVOKE ALL ON SCHEMA _dts FROM PUBLIC;
     END IF;
   END $$`,
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
  // `dts complete --sequence-gap n`: the runner sets each target sequence n increments past the source's.
  // The outcome of the cutover, for `dts complete` (another process) to report: dropped slots and
  // publications here, each database's detail in cutover_databases.
  `ALTER TABLE _dts.tasks
     ADD COLUMN IF NOT EXISTS sequence_gap bigint,
     ADD COLUMN IF NOT EXISTS dropped_slots text[],
     ADD COLUMN IF NOT EXISTS dropped_publications text[]`,
  // The error that stopped the last runner (message, SQLSTATE, hint, time), for `dts status` after it died;
  // cleared once sync streams again.
  `ALTER TABLE _dts.tasks
     ADD COLUMN IF NOT EXISTS last_error text,
     ADD COLUMN IF NOT EXISTS last_error_code text,
     ADD COLUMN IF NOT EXISTS last_error_hint text,
     ADD COLUMN IF NOT EXISTS last_error_at timestamptz`,
  `CREATE TABLE IF NOT EXISTS _dts.cutover_databases (
     task text NOT NULL,
     source_database text NOT NULL,
     target_database text NOT NULL,
     applied_lsn pg_lsn NOT NULL,
     transactions bigint NOT NULL,
     sequences int NOT NULL,
     refreshed text[] NOT NULL,
     PRIMARY KEY (task, source_database)
   )`,
  /*
   * Incremental sync's live figures, one row per database, written by the runner every second or so
   * (`dts status` reads them, also after the runner died). Only what the runner knows; the source's live
   * position (for the lag in bytes and the WAL the slot retains) is read by status itself.
   * - applied_lsn / applied_commit_time: commit end LSN and source commit time of the last transaction
   *   durably applied (as in _dts.apply_position, which stays the only truth for exactly-once).
   * - confirmed_lsn: what the slot was last told; on an idle source the heartbeat moves it past applied_lsn.
   * - received_lsn: the furthest position the stream has delivered (a commit received, or a keepalive).
   * - idle: at the last write nothing was received but not applied.
   * - tx_rate / row_rate: per second over the interval between the last two writes.
   * - transactions / changes / reconnects: of the current run.
   */
  `CREATE TABLE IF NOT EXISTS _dts.sync_progress (
     task text NOT NULL,
     source_database text NOT NULL,
     state text NOT NULL,
     applied_lsn pg_lsn,
     applied_commit_time timestamptz,
     confirmed_lsn pg_lsn,
     received_lsn pg_lsn,
     idle boolean NOT NULL DEFAULT false,
     transactions bigint NOT NULL DEFAULT 0,
     changes bigint NOT NULL DEFAULT 0,
     tx_rate double precision NOT NULL DEFAULT 0,
     row_rate double precision NOT NULL DEFAULT 0,
     reconnects int NOT NULL DEFAULT 0,
     last_error text,
     last_error_at timestamptz,
     updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
     PRIMARY KEY (task, source_database)
   )`,
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
       sync_transactions::text AS sync_transactions,
       -- Through jsonb: status reads a _dts that an older runner made, without these columns.
       pg_catalog.to_jsonb(t) ->> 'last_error' AS last_error,
       pg_catalog.to_jsonb(t) ->> 'last_error_code' AS last_error_code,
       pg_catalog.to_jsonb(t) ->> 'last_error_hint' AS last_error_hint,
       pg_catalog.to_jsonb(t) ->> 'last_error_at' AS last_error_at
FROM _dts.tasks t WHERE task = $1`;

export const SET_LAST_ERROR = `
UPDATE _dts.tasks SET last_error = $2, last_error_code = $3, last_error_hint = $4, last_error_at = pg_catalog.now()
WHERE task = $1`;

export const CLEAR_LAST_ERROR = `
UPDATE _dts.tasks SET last_error = NULL, last_error_code = NULL, last_error_hint = NULL, last_error_at = NULL
WHERE task = $1 AND last_error IS NOT NULL`;

/**
 * The first request wins: a runner may already be draining to it, and any later position would only
 * make the cutover wait longer. Returns the position in force.
 */
export const REQUEST_CUTOVER = `
UPDATE _dts.tasks SET cutover_lsn = COALESCE(cutover_lsn, $2::pg_lsn),
                      cutover_requested_at = COALESCE(cutover_requested_at, pg_catalog.now()),
                      sequence_gap = CASE WHEN cutover_lsn IS NULL THEN $3::bigint ELSE sequence_gap END
WHERE task = $1
RETURNING cutover_lsn::text AS cutover_lsn, cutover_requested_at, sequence_gap::text AS sequence_gap`;

/** What the runner polls for while syncing. */
export const READ_CUTOVER = `
SELECT cutover_lsn::text AS cutover_lsn, cutover_requested_at, sequence_gap::text AS sequence_gap
FROM _dts.tasks
WHERE task = $1 AND cutover_lsn IS NOT NULL`;

/** The runner's latest sync figures of one database (see the table's note). */
export const UPSERT_SYNC_PROGRESS = `
INSERT INTO _dts.sync_progress AS p (task, source_database, state, applied_lsn, applied_commit_time,
                                     confirmed_lsn, received_lsn, idle, transactions, changes, tx_rate,
                                     row_rate, reconnects, last_error, last_error_at, updated_at)
VALUES ($1, $2, $3, $4::pg_lsn, $5::timestamptz, $6::pg_lsn, $7::pg_lsn, $8, $9::bigint, $10::bigint,
        $11, $12, $13, $14, $15::timestamptz, pg_catalog.now())
ON CONFLICT (task, source_database) DO UPDATE
  SET state = excluded.state,
      applied_lsn = COALESCE(excluded.applied_lsn, p.applied_lsn),
      applied_commit_time = COALESCE(excluded.applied_commit_time, p.applied_commit_time),
      confirmed_lsn = COALESCE(excluded.confirmed_lsn, p.confirmed_lsn),
      received_lsn = COALESCE(excluded.received_lsn, p.received_lsn),
      idle = excluded.idle, transactions = excluded.transactions, changes = excluded.changes,
      tx_rate = excluded.tx_rate, row_rate = excluded.row_rate, reconnects = excluded.reconnects,
      last_error = COALESCE(excluded.last_error, p.last_error),
      last_error_at = COALESCE(excluded.last_error_at, p.last_error_at),
      updated_at = pg_catalog.now()`;

/** A new run starts its counters afresh; the positions, commit time and last error stay. */
export const RESET_SYNC_PROGRESS = `
UPDATE _dts.sync_progress SET state = 'starting', idle = false, transactions = 0, changes = 0, tx_rate = 0,
                              row_rate = 0, reconnects = 0, updated_at = pg_catalog.now()
WHERE task = $1`;

/** With the age of each row by the target's own clock (the runner's clock, not the reader's). */
export const READ_SYNC_PROGRESS = `
SELECT source_database, state, applied_lsn::text AS applied_lsn, applied_commit_time,
       confirmed_lsn::text AS confirmed_lsn, received_lsn::text AS received_lsn, idle,
       transactions::text AS transactions, changes::text AS changes, tx_rate, row_rate, reconnects,
       last_error, last_error_at, updated_at,
       (extract(epoch FROM pg_catalog.now() - updated_at) * 1000)::float8 AS age_ms
FROM _dts.sync_progress WHERE task = $1 ORDER BY source_database`;

/** Added to what an earlier runner dropped (a cutover resumed after a crash finds those gone). */
export const SET_DROPPED = `
UPDATE _dts.tasks
SET dropped_slots = ARRAY(SELECT DISTINCT s FROM unnest(COALESCE(dropped_slots, '{}') || $2::text[]) s ORDER BY s),
    dropped_publications = ARRAY(SELECT DISTINCT p FROM unnest(COALESCE(dropped_publications, '{}') || $3::text[]) p
                                 ORDER BY p)
WHERE task = $1`;

export const UPSERT_CUTOVER_DATABASE = `
INSERT INTO _dts.cutover_databases (task, source_database, target_database, applied_lsn, transactions,
                                    sequences, refreshed)
VALUES ($1, $2, $3, $4::pg_lsn, $5::bigint, $6, $7::text[])
ON CONFLICT (task, source_database) DO UPDATE
  SET target_database = excluded.target_database, applied_lsn = excluded.applied_lsn,
      transactions = excluded.transactions, sequences = excluded.sequences, refreshed = excluded.refreshed`;

export const READ_CUTOVER_DATABASES = `
SELECT source_database, target_database, applied_lsn::text AS applied_lsn, transactions::text AS transactions,
       sequences, refreshed
FROM _dts.cutover_databases WHERE task = $1 ORDER BY source_database`;

export const READ_DROPPED = `SELECT dropped_slots, dropped_publications FROM _dts.tasks WHERE task = $1`;

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

/** Tables of incremental sync, which a `_dts` made by an older dts lacks: forgotten when present. */
export const SYNC_TABLES = ['_dts.sync_progress', '_dts.cutover_databases'] as const;

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

/** The source's WAL position: the write position on a primary, the replay position on a standby. */
const SOURCE_LSN = `CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
  ELSE pg_catalog.pg_current_wal_lsn() END`;

/** On the source, for status' lag: its WAL position and its clock, read together. */
export const SOURCE_POSITION = `SELECT ${SOURCE_LSN}::text AS lsn, pg_catalog.now() AS now`;

/** WAL each logical slot keeps on the source (readable without privileges: the view is public). */
export const SLOTS_RETAINED = `
SELECT slot_name::text AS slot,
       pg_catalog.pg_wal_lsn_diff(${SOURCE_LSN}, restart_lsn)::bigint::text AS retained
FROM pg_catalog.pg_replication_slots WHERE slot_type = 'logical'`;

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
