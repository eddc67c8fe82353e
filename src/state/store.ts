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

/** The process running a task: printed when a second `run` is refused, shown by `status`. */
export interface RunnerInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: Date;
  /** The target server process holding the runner lock (pg_locks.pid). */
  readonly backendPid: number;
}

export async function recordRunner(db: Queryable, task: string, r: RunnerInfo): Promise<void> {
  await db.query(sql.SET_RUNNER, [task, r.pid, r.host, r.startedAt, r.backendPid]);
}

/** A cutover request (`dts complete`): the position the runner drains to, and when it was asked. */
export interface CutoverRequest {
  readonly lsn: string;
  readonly requestedAt: Date;
  /** Increments each target sequence is set past the source's value (`complete --sequence-gap`). */
  readonly sequenceGap?: number;
}

const cutoverOf = (r: Row): CutoverRequest => ({
  lsn: String(r.cutover_lsn),
  requestedAt: date(r.cutover_requested_at)!,
  sequenceGap: r.sequence_gap == null ? 0 : Number(r.sequence_gap),
});

/** The first request wins, with its sequence gap: a later one only reads what is in force. */
export async function recordCutoverRequest(
  db: Queryable,
  task: string,
  lsn: string,
  sequenceGap = 0,
): Promise<CutoverRequest> {
  const r = (await db.query(sql.REQUEST_CUTOVER, [task, lsn, String(sequenceGap)])).rows[0] as
    Row | undefined;
  if (!r) throw new Error(`task ${task} is not recorded in _dts.tasks`);
  return cutoverOf(r);
}

export async function readCutoverRequest(db: Queryable, task: string): Promise<CutoverRequest | undefined> {
  const r = (await db.query(sql.READ_CUTOVER, [task])).rows[0] as Row | undefined;
  return r ? cutoverOf(r) : undefined;
}

/** One database's sync figures as the runner writes them to `_dts.sync_progress` (see sql.ts). */
export interface SyncProgressRecord {
  readonly database: string;
  /** `starting`, `streaming`, `reconnecting` or `done`. */
  readonly state: string;
  readonly appliedLsn: string | undefined;
  readonly appliedCommitTime: Date | undefined;
  readonly confirmedLsn: string | undefined;
  readonly receivedLsn: string | undefined;
  readonly idle: boolean;
  readonly transactions: number;
  readonly changes: number;
  readonly txRate: number;
  readonly rowRate: number;
  readonly reconnects: number;
  readonly lastError: string | undefined;
  readonly lastErrorAt: Date | undefined;
}

/** Read back, with when it was written and how old it is by the target's clock. */
export interface StoredSyncProgress extends SyncProgressRecord {
  readonly updatedAt: Date;
  readonly ageMs: number;
}

export async function recordSyncProgress(db: Queryable, task: string, p: SyncProgressRecord): Promise<void> {
  await db.query(sql.UPSERT_SYNC_PROGRESS, [
    task,
    p.database,
    p.state,
    p.appliedLsn ?? null,
    p.appliedCommitTime ?? null,
    p.confirmedLsn ?? null,
    p.receivedLsn ?? null,
    p.idle,
    String(p.transactions),
    String(p.changes),
    p.txRate,
    p.rowRate,
    p.reconnects,
    p.lastError ?? null,
    p.lastErrorAt ?? null,
  ]);
}

export async function resetSyncProgress(db: Queryable, task: string): Promise<void> {
  await db.query(sql.RESET_SYNC_PROGRESS, [task]);
}

/** Empty when the runner never synced (or `_dts` predates the table). */
export async function readSyncProgress(db: Queryable, task: string): Promise<readonly StoredSyncProgress[]> {
  const present = (await db.query(`SELECT pg_catalog.to_regclass('_dts.sync_progress') IS NOT NULL AS p`))
    .rows[0] as Row;
  if (!(present.p === true || present.p === 't')) return [];
  return ((await db.query(sql.READ_SYNC_PROGRESS, [task])).rows as Row[]).map((r) => ({
    database: String(r.source_database),
    state: String(r.state),
    appliedLsn: r.applied_lsn == null ? undefined : String(r.applied_lsn),
    appliedCommitTime: date(r.applied_commit_time),
    confirmedLsn: r.confirmed_lsn == null ? undefined : String(r.confirmed_lsn),
    receivedLsn: r.received_lsn == null ? undefined : String(r.received_lsn),
    idle: r.idle === true || r.idle === 't',
    transactions: Number(r.transactions),
    changes: Number(r.changes),
    txRate: Number(r.tx_rate),
    rowRate: Number(r.row_rate),
    reconnects: Number(r.reconnects),
    lastError: r.last_error == null ? undefined : String(r.last_error),
    lastErrorAt: date(r.last_error_at),
    updatedAt: date(r.updated_at)!,
    ageMs: Math.max(0, Number(r.age_ms)),
  }));
}

/** One database's part of the cutover, as the runner recorded it. */
export interface CutoverDatabaseRecord {
  readonly source: string;
  readonly target: string;
  readonly appliedLsn: string;
  readonly transactions: number;
  readonly sequences: number;
  readonly refreshed: readonly string[];
}

export async function recordCutoverDatabase(
  db: Queryable,
  task: string,
  d: CutoverDatabaseRecord,
): Promise<void> {
  await db.query(sql.UPSERT_CUTOVER_DATABASE, [
    task,
    d.source,
    d.target,
    d.appliedLsn,
    String(d.transactions),
    d.sequences,
    d.refreshed,
  ]);
}

export async function recordDropped(
  db: Queryable,
  task: string,
  released: { readonly slots: readonly string[]; readonly publications: readonly string[] },
): Promise<void> {
  await db.query(sql.SET_DROPPED, [task, released.slots, released.publications]);
}

/** What the runner recorded of a finished cutover, for `dts complete` to report. */
export async function readCutoverOutcome(
  db: Queryable,
  task: string,
): Promise<{
  readonly databases: readonly CutoverDatabaseRecord[];
  readonly droppedSlots: readonly string[];
  readonly droppedPublications: readonly string[];
}> {
  const present = (await db.query(`SELECT pg_catalog.to_regclass('_dts.cutover_databases') IS NOT NULL AS p`))
    .rows[0] as Row;
  if (!(present.p === true || present.p === 't'))
    return { databases: [], droppedSlots: [], droppedPublications: [] };
  const databases = ((await db.query(sql.READ_CUTOVER_DATABASES, [task])).rows as Row[]).map((r) => ({
    source: String(r.source_database),
    target: String(r.target_database),
    appliedLsn: String(r.applied_lsn),
    transactions: Number(r.transactions),
    sequences: Number(r.sequences),
    refreshed: textArray(r.refreshed),
  }));
  const t = (await db.query(sql.READ_DROPPED, [task])).rows[0] as Row | undefined;
  return {
    databases,
    droppedSlots: textArray(t?.dropped_slots),
    droppedPublications: textArray(t?.dropped_publications),
  };
}

/** The cutover is done: phase `completed`, with the transactions incremental sync applied in all. */
export async function recordCompleted(db: Queryable, task: string, transactions: number): Promise<void> {
  await db.query(sql.SET_COMPLETED, [task, String(transactions)]);
}

/** Transactions applied into one target database by incremental sync, over all runs. */
export async function readAppliedTransactions(
  db: Queryable,
  task: string,
  database: string,
): Promise<number> {
  const present = (await db.query(`SELECT pg_catalog.to_regclass('_dts.apply_position') IS NOT NULL AS p`))
    .rows[0] as Row;
  if (!(present.p === true || present.p === 't')) return 0;
  const r = (await db.query(sql.APPLIED_TRANSACTIONS, [task, database])).rows[0] as Row;
  return Number(r.transactions);
}

export async function recordCancelRequest(db: Queryable, task: string): Promise<void> {
  await db.query(sql.REQUEST_CANCEL, [task]);
}

/** A database of the task and what pre-data did to it (it may have created the database). */
export async function recordDatabase(
  db: Queryable,
  task: string,
  d: { readonly source: string; readonly target: string; readonly createdDatabase: boolean },
): Promise<void> {
  await db.query(sql.UPSERT_DATABASE, [task, d.source, d.target, d.createdDatabase]);
}

/** Only after the schema phase committed in that database (see the watermark note in sql.ts). */
export async function recordSchemaPhaseDone(
  db: Queryable,
  task: string,
  database: string,
  phase: 'pre-data' | 'post-data',
): Promise<void> {
  await db.query(phase === 'pre-data' ? sql.SET_PRE_DATA_DONE : sql.SET_POST_DATA_DONE, [task, database]);
}

/** Remove every record of a task (the `_dts` tables stay). */
export async function forgetTask(db: Queryable, task: string): Promise<void> {
  for (const table of sql.SYNC_TABLES) {
    const r = (await db.query(`SELECT pg_catalog.to_regclass($1) IS NOT NULL AS p`, [table])).rows[0] as Row;
    // The names are constants of sql.ts, not input.
    if (r.p === true || r.p === 't') await db.query(`DELETE FROM ${table} WHERE task = $1`, [task]);
  }
  for (const statement of sql.FORGET_TASK) await db.query(statement, [task]);
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

/** Record every unit of the plan as not started yet, so status knows the totals. */
export async function recordUnitsPlanned(
  db: Queryable,
  task: string,
  database: string,
  units: readonly Omit<UnitRef, 'task' | 'database'>[],
): Promise<void> {
  await db.query(sql.UNITS_PLANNED, [
    task,
    database,
    units.map((u) => u.schema),
    units.map((u) => u.table),
    units.map((u) => u.part),
    units.map((u) => u.parts),
    units.map((u) => u.format),
  ]);
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

/** A database of the task and the schema phases committed in it. */
export interface DatabaseState {
  readonly source: string;
  readonly target: string;
  /** dts created this database on the target (cancel --drop-target may drop it). */
  readonly createdDatabase: boolean;
  readonly preDataAt: Date | undefined;
  readonly postDataAt: Date | undefined;
}

/** An error that stopped a runner, as `_dts.tasks` keeps it. */
export interface RunnerError {
  readonly message: string;
  readonly sqlstate: string | undefined;
  readonly hint: string | undefined;
  readonly at: Date;
}

export async function recordLastError(
  db: Queryable,
  task: string,
  e: { message: string; sqlstate: string | undefined; hint: string | undefined },
): Promise<void> {
  await db.query(sql.SET_LAST_ERROR, [task, e.message, e.sqlstate ?? null, e.hint ?? null]);
}

export async function clearLastError(db: Queryable, task: string): Promise<void> {
  await db.query(sql.CLEAR_LAST_ERROR, [task]);
}

/** Everything recorded about a task, for `status` and for tests. */
export interface TaskState {
  readonly task: string;
  readonly mode: string;
  readonly phase: string;
  readonly startedAt: Date;
  readonly updatedAt: Date;
  /** The last runner that started; whether it is alive is pg_locks' business (see lock.ts). */
  readonly runner: RunnerInfo | undefined;
  readonly cancelRequestedAt: Date | undefined;
  /** Set by `dts complete`: where the runner drains to before cutting over. */
  readonly cutover?: CutoverRequest | undefined;
  /** When the cutover finished (phase `completed`), and the transactions sync applied in all. */
  readonly completedAt?: Date | undefined;
  readonly syncTransactions?: number | undefined;
  /** The error that stopped the last runner, until sync streams again. */
  readonly lastError?: RunnerError | undefined;
  readonly databases: readonly DatabaseState[];
  readonly loads: readonly (LoadRecord & {
    readonly phase: string;
    readonly startedAt: Date;
    readonly finishedAt: Date | undefined;
  })[];
  readonly tables: readonly TableCopyState[];
  readonly timings: readonly PhaseTiming[];
}

const date = (v: unknown) => (v == null ? undefined : new Date(v as string));

/** A text[] column: an array from node-postgres, or its text form `{a,"b c"}` on a raw-values client. */
function textArray(v: unknown): string[] {
  if (v == null) return [];
  if (Array.isArray(v)) return v.map(String);
  const inner = String(v).replace(/^\{|\}$/g, '');
  if (inner === '') return [];
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|([^,]+)/g;
  for (let m = re.exec(inner); m; m = re.exec(inner))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

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
  const databases = ((await db.query(sql.READ_DATABASES, [task])).rows as Row[]).map((r) => ({
    source: String(r.source_database),
    target: String(r.target_database),
    createdDatabase: r.created_database === true || r.created_database === 't',
    preDataAt: date(r.pre_data_at),
    postDataAt: date(r.post_data_at),
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
    runner:
      t.runner_pid == null
        ? undefined
        : {
            pid: Number(t.runner_pid),
            host: String(t.runner_host),
            startedAt: date(t.runner_started_at)!,
            backendPid: Number(t.runner_backend_pid),
          },
    cancelRequestedAt: date(t.cancel_requested_at),
    cutover:
      t.cutover_lsn == null
        ? undefined
        : { lsn: String(t.cutover_lsn), requestedAt: date(t.cutover_requested_at)! },
    completedAt: date(t.completed_at),
    syncTransactions: t.sync_transactions == null ? undefined : Number(t.sync_transactions),
    lastError:
      t.last_error == null
        ? undefined
        : {
            message: String(t.last_error),
            sqlstate: t.last_error_code == null ? undefined : String(t.last_error_code),
            hint: t.last_error_hint == null ? undefined : String(t.last_error_hint),
            at: date(t.last_error_at)!,
          },
    databases,
    loads,
    tables,
    timings,
  };
}
