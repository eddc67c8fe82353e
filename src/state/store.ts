import type pg from 'pg';
import * as sql from './sql.js';

export type Queryable = Pick<pg.ClientBase, 'query'>;

// Rows are loosely typed on purpose: they are mapped right here and nowhere else.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

/**
 * The same connection, with queries run one after another: COPY workers report progress concurrently,
 * and node-postgres wants one query at a time per client.
 */
export function serialized(db: Queryable): Queryable {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    query: ((...args: Parameters<Queryable['query']>) => {
      const next = tail.then(() => (db.query as (...a: unknown[]) => Promise<unknown>)(...args));
      tail = next.catch(() => undefined);
      return next;
    }) as Queryable['query'],
  };
}

/** Create `_dts` and its tables when missing. Safe to run every time; needs CREATE on the database only. */
export async function ensureState(db: Queryable): Promise<void> {
  for (const statement of sql.CREATE_STATE) await db.query(statement);
}

export async function recordTask(db: Queryable, task: string, mode: string, phase: string): Promise<void> {
  await db.query(sql.UPSERT_TASK, [task, mode, phase]);
}

export async function recordTaskPhase(db: Queryable, task: string, phase: string): Promise<void> {
  await db.query(sql.SET_TASK_PHASE, [task, phase]);
}

/** The snapshot a database's load is taken at: where incremental sync will start. */
export interface LoadRecord {
  readonly task: string;
  readonly sourceDatabase: string;
  readonly targetDatabase: string;
  readonly slot: string;
  readonly temporarySlot: boolean;
  readonly consistentPoint: string;
  readonly snapshotName: string;
  readonly snapshotAt: Date;
}

/** Start a database's load afresh: earlier records of it are replaced in one transaction. */
export async function recordLoadStart(db: Queryable, load: LoadRecord, phase: string): Promise<void> {
  await db.query('BEGIN');
  try {
    for (const statement of sql.FORGET_LOAD) await db.query(statement, [load.task, load.sourceDatabase]);
    await db.query(sql.INSERT_LOAD, [
      load.task,
      load.sourceDatabase,
      load.targetDatabase,
      load.slot,
      load.temporarySlot,
      load.consistentPoint,
      load.snapshotName,
      load.snapshotAt,
      phase,
    ]);
    await db.query('COMMIT');
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

export async function recordLoadPhase(
  db: Queryable,
  task: string,
  database: string,
  phase: string,
): Promise<void> {
  await db.query(sql.SET_LOAD_PHASE, [task, database, phase]);
}

/** Timings per phase; `database` is '' for task-wide phases (the schema stages). */
export async function recordPhaseStarted(
  db: Queryable,
  task: string,
  database: string,
  phase: string,
): Promise<void> {
  await db.query(sql.PHASE_STARTED, [task, database, phase]);
}

export async function recordPhaseFinished(
  db: Queryable,
  task: string,
  database: string,
  phase: string,
): Promise<void> {
  await db.query(sql.PHASE_FINISHED, [task, database, phase]);
}

/** One COPY unit of a table (part 0 of 1 for a table copied whole). */
export interface UnitRef {
  readonly task: string;
  readonly database: string;
  readonly schema: string;
  readonly table: string;
  readonly part: number;
  readonly parts: number;
  readonly format: string;
}

export async function recordUnitStarted(db: Queryable, u: UnitRef): Promise<void> {
  await db.query(sql.UNIT_STARTED, [u.task, u.database, u.schema, u.table, u.part, u.parts, u.format]);
}

/** Only after the unit's COPY committed on the target (see the watermark note in sql.ts). */
export async function recordUnitDone(db: Queryable, u: UnitRef, rows: number, bytes: number): Promise<void> {
  await db.query(sql.UNIT_DONE, [u.task, u.database, u.schema, u.table, u.part, rows, bytes]);
}

export interface TableCopyState {
  readonly database: string;
  readonly schema: string;
  readonly table: string;
  readonly part: number;
  readonly parts: number;
  readonly format: string;
  readonly rows: number;
  readonly bytes: number;
  readonly done: boolean;
  readonly startedAt: Date | undefined;
  readonly finishedAt: Date | undefined;
}

export interface PhaseTiming {
  readonly database: string;
  readonly phase: string;
  readonly startedAt: Date;
  readonly finishedAt: Date | undefined;
}

/** Everything recorded about a task, for `status` and for tests. */
export interface TaskState {
  readonly task: string;
  readonly mode: string;
  readonly phase: string;
  readonly startedAt: Date;
  readonly updatedAt: Date;
  readonly loads: readonly (LoadRecord & {
    readonly phase: string;
    readonly startedAt: Date;
    readonly finishedAt: Date | undefined;
  })[];
  readonly tables: readonly TableCopyState[];
  readonly timings: readonly PhaseTiming[];
}

const date = (v: unknown) => (v == null ? undefined : new Date(v as string));

/** The recorded state of a task, or undefined when `_dts` or the task is not there. */
export async function readTaskState(db: Queryable, task: string): Promise<TaskState | undefined> {
  const present = (await db.query(sql.STATE_EXISTS)).rows[0] as Row;
  if (!(present.present === true || present.present === 't')) return undefined;
  const t = (await db.query(sql.READ_TASK, [task])).rows[0] as Row | undefined;
  if (!t) return undefined;
  const loads = ((await db.query(sql.READ_LOADS, [task])).rows as Row[]).map((r) => ({
    task,
    sourceDatabase: String(r.source_database),
    targetDatabase: String(r.target_database),
    slot: String(r.slot),
    temporarySlot: r.temporary_slot === true || r.temporary_slot === 't',
    consistentPoint: String(r.consistent_point),
    snapshotName: String(r.snapshot_name),
    snapshotAt: date(r.snapshot_at)!,
    phase: String(r.phase),
    startedAt: date(r.started_at)!,
    finishedAt: date(r.finished_at),
  }));
  const tables = ((await db.query(sql.READ_TABLE_COPIES, [task])).rows as Row[]).map((r) => ({
    database: String(r.source_database),
    schema: String(r.schema_name),
    table: String(r.table_name),
    part: Number(r.part),
    parts: Number(r.parts),
    format: String(r.format),
    rows: Number(r.rows),
    bytes: Number(r.bytes),
    done: r.done === true || r.done === 't',
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
  }));
  const timings = ((await db.query(sql.READ_TIMINGS, [task])).rows as Row[]).map((r) => ({
    database: String(r.source_database),
    phase: String(r.phase),
    startedAt: date(r.started_at)!,
    finishedAt: date(r.finished_at),
  }));
  return {
    task,
    mode: String(t.mode),
    phase: String(t.phase),
    startedAt: date(t.started_at)!,
    updatedAt: date(t.updated_at)!,
    loads,
    tables,
    timings,
  };
}
