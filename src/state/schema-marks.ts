import type { Queryable } from './store.js';

/**
 * Schema phase marks: a row in `_dts.schema_phases` of the database the phase was applied in, written
 * in the schema transaction itself, just before COMMIT. `_dts.databases.pre_data_at` / `post_data_at`
 * live in the target endpoint's database, which for a task of several databases is another database
 * than most of the DDL, so they cannot land in the same transaction; a crash between a database's
 * COMMIT and that record would otherwise make the next run apply the phase again ("already exists").
 * The mark is the truth for "this phase is in this database"; the record is what status shows. Marks go
 * with their database (a dropped target database takes them along, as it takes the objects).
 */
const CREATE_MARKS = [
  `CREATE SCHEMA IF NOT EXISTS _dts`,
  `CREATE TABLE IF NOT EXISTS _dts.schema_phases (
     task text NOT NULL,
     source_database text NOT NULL,
     phase text NOT NULL,
     done_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
     PRIMARY KEY (task, source_database, phase)
   )`,
] as const;

const MARK = `
INSERT INTO _dts.schema_phases (task, source_database, phase) VALUES ($1, $2, $3)
ON CONFLICT (task, source_database, phase) DO UPDATE SET done_at = pg_catalog.now()`;

const READ_MARKS = `
SELECT phase FROM _dts.schema_phases WHERE task = $1 AND source_database = $2 ORDER BY phase`;

const MARKS_EXIST = `SELECT pg_catalog.to_regclass('_dts.schema_phases') IS NOT NULL AS present`;

/** Inside the schema transaction, before COMMIT: the phase is in this database exactly when this is. */
export async function markSchemaPhase(
  db: Queryable,
  task: string,
  database: string,
  phase: 'pre-data' | 'post-data',
): Promise<void> {
  for (const statement of CREATE_MARKS) await db.query(statement);
  await db.query(MARK, [task, database, phase]);
}

/** The schema phases committed in this (target) database for a source database of the task. */
export async function readSchemaMarks(
  db: Queryable,
  task: string,
  database: string,
): Promise<ReadonlySet<string>> {
  const present = (await db.query(MARKS_EXIST)).rows[0] as { present: boolean | string };
  if (!(present.present === true || present.present === 't')) return new Set();
  const { rows } = await db.query(READ_MARKS, [task, database]);
  return new Set((rows as { phase: string }[]).map((r) => String(r.phase)));
}
