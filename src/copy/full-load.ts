import { setTimeout as sleep } from 'node:timers/promises';
import { displayName } from '../catalog/display.js';
import { replicationNames } from '../catalog/names.js';
import { resolveDatabases, type DatabasePatterns } from '../catalog/selection.js';
import { DtsError, ExitCode, type Side } from '../errors.js';
import { connect, withConnection } from '../pg/connect.js';
import { isPgServerError, sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import { quoteQualified } from '../pg/quote.js';
import { migrateSchema } from '../schema/index.js';
import type { SchemaReport } from '../schema/report.js';
import {
  ensureState,
  recordDatabase,
  recordLoadPhase,
  recordLoadStart,
  recordPhaseFinished,
  recordPhaseStarted,
  recordRunner,
  recordSchemaPhaseDone,
  recordTask,
  recordTaskPhase,
  recordUnitDone,
  recordUnitStarted,
  recordUnitsPlanned,
  serialized,
  type Queryable,
  type RunnerInfo,
  type TaskState,
  type UnitRef,
} from '../state/store.js';
import type { Task } from '../task/types.js';
import type { FullLoadListener, FullLoadPhase } from './events.js';
import { copyLargeObjects } from './large-objects.js';
import { copyUnit } from './pipe.js';
import { planCopy } from './plan.js';
import { readMaterializedViews, readServerFacts, readSourceTables, type MaterializedView } from './read.js';
import type { DatabaseLoadReport, FullLoadReport, PhaseTimingReport, TableLoadReport } from './report.js';
import { copySequences } from './sequences.js';
import { createPublication, createSlotWithSnapshot, dropSlotIfExists } from './snapshot.js';
import type { CopyUnit } from './types.js';
import { closeWorkers, openWorkers, runOnWorkers } from './workers.js';

/** What a full load needs from outside. */
export interface FullLoadDeps {
  readonly prompt?: PasswordPrompt;
  readonly onEvent?: FullLoadListener;
  /**
   * Aborting stops starting COPYs and cuts the running ones short; runFullLoad then rejects with a
   * `cancelled` or `interrupted` DtsError (exit 5), by the abort reason (a StopReason), after recording it.
   */
  readonly signal?: AbortSignal;
  /**
   * Keep the slot after the load (full+incremental streams from it). By default the slot is TEMPORARY:
   * it exists only to export the snapshot, and goes away with its connection even if dts crashes.
   */
  readonly keepSlot?: boolean;
  /** What `_dts` held before this run (read under the runner lock): a resumed run skips what is committed. */
  readonly prior?: TaskState;
  /** Recorded in `_dts.tasks` once the state exists (first run: after pre-data created the database). */
  readonly runner?: RunnerInfo;
}

/** Why a run stopped before its end: `dts cancel`, or Ctrl-C / SIGTERM (resumable). */
export type StopReason = 'cancelled' | 'interrupted';

/** The error a stopped run ends with; the task's phase says the same in `_dts`. */
export function stopError(task: Task, reason: StopReason, cause?: unknown): DtsError {
  const file = task.file;
  return reason === 'cancelled'
    ? new DtsError('cancelled', `task ${task.name} was cancelled (dts cancel)`, {
        hint: `\`dts run --restart ${file}\` starts it again`,
        exitCode: ExitCode.state,
        cause,
      })
    : new DtsError('interrupted', `task ${task.name} was interrupted; nothing is lost`, {
        hint: `run \`dts run ${file}\` again to resume`,
        exitCode: ExitCode.state,
        cause,
      });
}

const stopReason = (signal: AbortSignal | undefined): StopReason =>
  signal?.reason === 'cancelled' ? 'cancelled' : 'interrupted';

/** A database of the task and where it goes. */
interface DatabaseJob {
  readonly source: string;
  readonly target: string;
  readonly patterns: DatabasePatterns;
}

/** What the copy of one database leaves for after post-data. */
interface Loaded {
  readonly report: Omit<DatabaseLoadReport, 'refreshed'>;
  readonly matviews: readonly MaterializedView[];
}

const prompt = (deps: FullLoadDeps) => (deps.prompt ? { prompt: deps.prompt } : {});

async function sql<T>(side: Side, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw sqlError(e, side, doing);
  }
}

const jobFor = (task: Task, source: string, target: string): DatabaseJob => {
  const { databases } = resolveDatabases(task.objects, [
    { name: source, allowConnections: true, isTemplate: false },
  ]);
  return { source, target, patterns: databases[0]! };
};

/** A load phase from which the database's rows are all on the target (its copy is not redone). */
const COPIED_PHASES: ReadonlySet<string> = new Set(['copied', 'refresh', 'done']);

/**
 * `mode: full` (issue #4): schema pre-data, then every selected table copied as of ONE snapshot per
 * database with parallel COPY streams, large objects and sequences, then post-data (keys, indexes, FKs,
 * triggers...), materialized views refreshed and ANALYZE. Progress goes to `deps.onEvent`; durable state
 * to `_dts` in the target endpoint's database.
 *
 * Post-data runs once, after all data: the schema stage's API applies a phase for the whole task, so
 * indexes are not built table by table as each table finishes.
 *
 * Resume (`deps.prior`): what `_dts` records as committed is not done again: pre-data and post-data when
 * every database has them, the copy of a database whose load reached `copied`, refresh and ANALYZE of one
 * that reached `done`. A database whose copy did not finish is copied again from a NEW snapshot (the
 * exported one died with the run); every table of it is emptied first, in the same transaction as its
 * COPY (or once before the ranges of a split table), so rows are never there twice.
 */
export async function runFullLoad(task: Task, deps: FullLoadDeps = {}): Promise<FullLoadReport> {
  const started = Date.now();
  const emit: FullLoadListener = (e) => deps.onEvent?.(e);
  const onStep = (text: string) => emit({ type: 'step', text });
  const timings: PhaseTimingReport[] = [];
  const schemaDeps = { ...prompt(deps), onStep };
  const prior = deps.prior;
  const known = prior?.databases ?? [];
  const preDataDone = known.length > 0 && known.every((d) => d.preDataAt !== undefined);
  const postDataDone = preDataDone && known.every((d) => d.postDataAt !== undefined);
  const skipped = (): SchemaReport => ({ task: task.name, ok: true, databases: [], durationMs: 0 });

  let t0 = Date.now();
  let preData: SchemaReport;
  let jobs: DatabaseJob[];
  if (preDataDone) {
    onStep('the schema (pre-data) was created by an earlier run; not creating it again');
    preData = skipped();
    jobs = known.map((d) => jobFor(task, d.source, d.target));
  } else {
    emit({ type: 'phase', database: undefined, phase: 'pre-data' });
    preData = await migrateSchema(task, { ...schemaDeps, phases: ['pre-data'] });
    timings.push({ phase: 'pre-data', database: undefined, ms: Date.now() - t0 });
    if (!preData.ok)
      return {
        task: task.name,
        ok: false,
        preData,
        postData: undefined,
        databases: [],
        timings,
        durationMs: Date.now() - started,
      };
    jobs = preData.databases.map((d) => jobFor(task, d.source, d.target));
  }

  // The state lives in the target endpoint's database, which exists now (pre-data creates databases).
  const stateConnection = await connect(task.target, { side: 'target', ...prompt(deps) });
  const state = serialized(stateConnection.client);
  const checkpoint = () => {
    if (deps.signal?.aborted) throw stopError(task, stopReason(deps.signal));
  };
  try {
    await sql('target', 'creating the _dts state schema', async () => {
      await ensureState(state);
      await recordTask(state, task.name, task.mode, 'copy');
      if (deps.runner) await recordRunner(state, task.name, deps.runner);
      for (const d of preData.databases) {
        await recordDatabase(state, task.name, d);
        await recordSchemaPhaseDone(state, task.name, d.source, 'pre-data');
      }
    });
    checkpoint();

    const loaded: Loaded[] = [];
    for (const job of jobs) {
      checkpoint();
      const before = prior?.loads.find((l) => l.sourceDatabase === job.source);
      if (before && COPIED_PHASES.has(before.phase)) {
        onStep(
          `${displayName(job.source)} was copied by an earlier run (snapshot ${before.consistentPoint})`,
        );
        loaded.push(await copiedEarlier(task, job, prior!, deps));
        continue;
      }
      if (before)
        onStep(
          `the copy of ${displayName(job.source)} was interrupted; copying it again from a new snapshot`,
        );
      loaded.push(await loadDatabase(task, job, state, deps, timings));
    }
    checkpoint();

    await recordTaskPhase(state, task.name, 'post-data');
    let postData: SchemaReport;
    if (postDataDone) {
      onStep('post-data was committed by an earlier run; not creating it again');
      postData = skipped();
    } else {
      emit({ type: 'phase', database: undefined, phase: 'post-data' });
      t0 = Date.now();
      postData = await migrateSchema(task, { ...schemaDeps, phases: ['post-data'] });
      timings.push({ phase: 'post-data', database: undefined, ms: Date.now() - t0 });
      for (const d of postData.databases)
        if (d.committed) await recordSchemaPhaseDone(state, task.name, d.source, 'post-data');
    }

    const databases: DatabaseLoadReport[] = [];
    for (const { report, matviews } of loaded) {
      checkpoint();
      const before = prior?.loads.find((l) => l.sourceDatabase === report.source);
      if (before?.phase === 'done' && report.copiedEarlier) {
        databases.push({ ...report, refreshed: [] });
        continue;
      }
      await recordLoadPhase(state, task.name, report.source, 'refresh');
      emit({ type: 'phase', database: report.source, phase: 'refresh' });
      t0 = Date.now();
      const refreshed = await refreshMaterializedViews(task, report.target, matviews, deps);
      timings.push({ phase: 'refresh', database: report.source, ms: Date.now() - t0 });

      emit({ type: 'phase', database: report.source, phase: 'analyze' });
      t0 = Date.now();
      await withConnection(task.target, { side: 'target', database: report.target, ...prompt(deps) }, (c) =>
        sql('target', `ANALYZE (database ${report.target})`, () => c.client.query('ANALYZE')),
      );
      timings.push({ phase: 'analyze', database: report.source, ms: Date.now() - t0 });
      await recordLoadPhase(state, task.name, report.source, 'done');
      databases.push({ ...report, refreshed });
    }
    // full+incremental goes on from here: `dts run` streams the kept slot until `dts complete`.
    const next = task.mode === 'full+incremental' ? 'syncing' : 'done';
    await recordTaskPhase(state, task.name, postData.ok ? next : 'post-data failed');
    emit({ type: 'phase', database: undefined, phase: 'done' });
    return {
      task: task.name,
      ok: postData.ok,
      preData,
      postData,
      databases,
      timings,
      durationMs: Date.now() - started,
    };
  } catch (e) {
    const phase =
      e instanceof DtsError && (e.code === 'cancelled' || e.code === 'interrupted') ? e.code : 'failed';
    await recordTaskPhase(state, task.name, phase).catch(() => undefined);
    throw e;
  } finally {
    await stateConnection.close();
  }
}

/**
 * A database copied by an earlier run: its report from `_dts`, and its materialized views read again
 * (refresh comes after post-data). Large objects and sequences were set then and are not counted here.
 */
async function copiedEarlier(
  task: Task,
  job: DatabaseJob,
  prior: TaskState,
  deps: FullLoadDeps,
): Promise<Loaded> {
  const load = prior.loads.find((l) => l.sourceDatabase === job.source)!;
  const byTable = new Map<string, TableLoadReport>();
  for (const u of prior.tables.filter((t) => t.database === job.source)) {
    const key = `${u.schema}\0${u.table}`;
    const t = byTable.get(key);
    byTable.set(key, {
      schema: u.schema,
      name: u.table,
      format: u.format === 'text' ? 'text' : 'binary',
      formatReason: undefined,
      parts: u.parts,
      rows: (t?.rows ?? 0) + u.rows,
      bytes: (t?.bytes ?? 0) + u.bytes,
      ms: 0,
    });
  }
  const tables = [...byTable.values()];
  const matviews = await withConnection(
    task.source,
    { side: 'source', database: job.source, ...prompt(deps) },
    (c) => sql('source', 'listing materialized views', () => readMaterializedViews(c.client)),
  );
  return {
    report: {
      source: job.source,
      target: job.target,
      slot: load.slot,
      temporarySlot: load.temporarySlot,
      consistentPoint: load.consistentPoint,
      snapshotName: load.snapshotName,
      snapshotAt: load.snapshotAt.toISOString(),
      tables,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      bytes: tables.reduce((n, t) => n + t.bytes, 0),
      largeObjects: { count: 0, bytes: 0 },
      sequences: 0,
      replicaRole: true,
      warnings: [],
      copiedEarlier: true,
    },
    matviews,
  };
}

/**
 * Copy one database: export a snapshot with the slot, let every worker import it, then copy tables,
 * large objects and sequences through those workers.
 */
async function loadDatabase(
  task: Task,
  job: DatabaseJob,
  state: Queryable,
  deps: FullLoadDeps,
  timings: PhaseTimingReport[],
): Promise<Loaded> {
  const emit: FullLoadListener = (e) => deps.onEvent?.(e);
  const database = job.source;
  const phase = async <T>(name: FullLoadPhase, fn: () => Promise<T>): Promise<T> => {
    emit({ type: 'phase', database, phase: name });
    await recordPhaseStarted(state, task.name, database, name);
    const t0 = Date.now();
    const result = await fn();
    timings.push({ phase: name, database, ms: Date.now() - t0 });
    await recordPhaseFinished(state, task.name, database, name);
    return result;
  };

  emit({ type: 'phase', database, phase: 'snapshot' });
  const t0 = Date.now();
  const { slot, publication } = replicationNames(task, database);
  if (deps.keepSlot)
    await withConnection(task.source, { side: 'source', database, ...prompt(deps) }, (c) =>
      sql('source', `creating the publication ${publication} (database ${database})`, async () => {
        const facts = await readServerFacts(c.client);
        const { tables } = planCopy({
          tables: await readSourceTables(c.client),
          patterns: job.patterns,
          splitTableBytes: task.options.splitTableBytes,
          blockSize: facts.blockSize,
          sameEncoding: true,
        });
        await dropSlotIfExists(c.client, slot);
        await createPublication(c.client, publication, tables);
      }),
    );
  const replication = await connect(task.source, {
    side: 'source',
    database,
    replication: true,
    ...prompt(deps),
  });
  let opened;
  let snapshot;
  try {
    snapshot = await createSlotWithSnapshot(replication, slot, !deps.keepSlot);
    emit({
      type: 'snapshot',
      database,
      slot,
      consistentPoint: snapshot.consistentPoint,
      snapshotName: snapshot.snapshotName,
    });
    // The replication connection runs nothing else until every worker has imported the snapshot.
    opened = await openWorkers(task, Math.max(1, task.options.parallel), {
      sourceDatabase: database,
      targetDatabase: job.target,
      snapshotName: snapshot.snapshotName,
      ...prompt(deps),
    });
  } finally {
    // Imported snapshots outlive their exporter; a temporary slot is dropped here, a kept one stays.
    await replication.close();
  }
  const { workers, replicaRole } = opened;
  timings.push({ phase: 'snapshot', database, ms: Date.now() - t0 });
  await recordLoadStart(
    state,
    {
      task: task.name,
      sourceDatabase: database,
      targetDatabase: job.target,
      slot,
      temporarySlot: snapshot.temporary,
      consistentPoint: snapshot.consistentPoint,
      snapshotName: snapshot.snapshotName,
      snapshotAt: snapshot.createdAt,
    },
    'copy',
  );

  const first = workers[0]!;
  // Test-only: end-to-end tests act on a run in progress (status, cancel, kill) without gigabytes of data.
  const unitDelayMs = Number(process.env.DTS_TEST_COPY_DELAY_MS ?? 0) || 0;
  const warnings: string[] = [];
  try {
    const plan = await sql('source', `reading the tables of ${displayName(database)}`, async () => {
      const facts = await readServerFacts(first.source.client);
      const targetFacts = await readServerFacts(first.target.client);
      return planCopy({
        tables: await readSourceTables(first.source.client),
        patterns: job.patterns,
        splitTableBytes: task.options.splitTableBytes,
        blockSize: facts.blockSize,
        sameEncoding: facts.encoding === targetFacts.encoding,
      });
    });
    emit({
      type: 'plan',
      database,
      tables: plan.tables.map((t) => ({
        table: displayName(t.schema, t.name),
        parts: t.parts,
        format: t.format,
        estimatedBytes: t.estimatedBytes,
        estimatedRows: t.estimatedRows,
      })),
    });

    const refOf = (unit: CopyUnit): UnitRef => ({
      task: task.name,
      database,
      schema: unit.table.schema,
      table: unit.table.name,
      part: unit.part,
      parts: unit.table.parts,
      format: unit.table.format,
    });
    await sql('target', 'recording the copy plan in _dts', () =>
      recordUnitsPlanned(state, task.name, database, plan.units.map(refOf)),
    );

    const results = new Map<string, { rows: number; bytes: number; start: number; end: number }>();
    await phase('copy', async () => {
      // Split tables are emptied once here; their ranges then only append.
      for (const t of plan.splitTables)
        await sql('target', `emptying ${displayName(t.schema, t.name)}`, () =>
          first.target.client.query(`TRUNCATE ONLY ${quoteQualified(t.schema, t.name)}`),
        );
      const run = async (w: (typeof workers)[number], unit: CopyUnit) => {
        const table = displayName(unit.table.schema, unit.table.name);
        const ref = refOf(unit);
        if (unitDelayMs > 0) await sleep(unitDelayMs, undefined, { signal: deps.signal });
        await recordUnitStarted(state, ref);
        emit({ type: 'unit-started', database, table, part: unit.part, parts: unit.table.parts });
        const start = Date.now();
        const r = await copyUnit(w.source.client, w.target.client, unit, (bytes) =>
          emit({ type: 'unit-progress', database, table, part: unit.part, bytes }),
        );
        const end = Date.now();
        await recordUnitDone(state, ref, r.rows, r.bytes);
        const sum = results.get(unit.table.key);
        results.set(unit.table.key, {
          rows: (sum?.rows ?? 0) + r.rows,
          bytes: (sum?.bytes ?? 0) + r.bytes,
          start: Math.min(sum?.start ?? start, start),
          end: Math.max(sum?.end ?? end, end),
        });
        emit({
          type: 'unit-done',
          database,
          table,
          part: unit.part,
          parts: unit.table.parts,
          ...r,
          ms: end - start,
        });
      };
      // Closing the clients is the only way to stop a COPY in flight; the pool then rejects.
      const abort = () => {
        for (const w of workers) {
          void w.source.close();
          void w.target.close();
        }
      };
      await runOnWorkers(workers, plan.units, run, abort, deps.signal).catch((e) => {
        if (deps.signal?.aborted) throw stopError(task, stopReason(deps.signal), e);
        throw e;
      });
    });

    const wholeDatabase = job.patterns.include.length === 0 && job.patterns.exclude.length === 0;
    const largeObjects = wholeDatabase
      ? await phase('large objects', () =>
          sql('target', 'copying large objects (read on the source, written on the target)', () =>
            copyLargeObjects(first.source.client, first.target.client, task.options.roleMap),
          ),
        )
      : { count: 0, bytes: 0, warnings: [] };
    warnings.push(...largeObjects.warnings);
    const sequences = await phase('sequences', () =>
      sql('target', 'setting sequences', () => copySequences(first.source.client, first.target.client)),
    );
    const matviews = await sql('source', 'listing materialized views', () =>
      readMaterializedViews(first.source.client),
    );
    await recordLoadPhase(state, task.name, database, 'copied');

    const tables: TableLoadReport[] = plan.tables.map((t) => {
      const r = results.get(t.key) ?? { rows: 0, bytes: 0, start: 0, end: 0 };
      return {
        schema: t.schema,
        name: t.name,
        format: t.format,
        formatReason: t.formatReason,
        parts: t.parts,
        rows: r.rows,
        bytes: r.bytes,
        ms: r.end - r.start,
      };
    });
    if (!replicaRole)
      warnings.push(
        'the target role may not set session_replication_role: rows were loaded with it unchanged',
      );
    return {
      report: {
        source: database,
        target: job.target,
        slot,
        temporarySlot: snapshot.temporary,
        consistentPoint: snapshot.consistentPoint,
        snapshotName: snapshot.snapshotName,
        snapshotAt: snapshot.createdAt.toISOString(),
        tables,
        rows: tables.reduce((n, t) => n + t.rows, 0),
        bytes: tables.reduce((n, t) => n + t.bytes, 0),
        largeObjects: { count: largeObjects.count, bytes: largeObjects.bytes },
        sequences,
        replicaRole,
        warnings,
      },
      matviews,
    };
  } finally {
    await closeWorkers(workers);
  }
}

/**
 * REFRESH the materialized views that hold rows on the source and exist on the target. One may read
 * another, so a view that fails because a view it reads is not populated yet is retried after the others
 * (55000); a pass without progress ends with that error.
 */
export async function refreshMaterializedViews(
  task: Task,
  targetDatabase: string,
  source: readonly MaterializedView[],
  deps: FullLoadDeps,
): Promise<readonly string[]> {
  const wanted = source.filter((m) => m.populated);
  if (wanted.length === 0) return [];
  return withConnection(
    task.target,
    { side: 'target', database: targetDatabase, ...prompt(deps) },
    async (c) => {
      const present = new Set(
        (await sql('target', 'listing materialized views', () => readMaterializedViews(c.client))).map(
          (m) => `${m.schema}\0${m.name}`,
        ),
      );
      let pending = wanted.filter((m) => present.has(`${m.schema}\0${m.name}`));
      const refreshed: string[] = [];
      // Invariant: every pass refreshes at least one view, or the loop ends with the last error.
      while (pending.length > 0) {
        const next: MaterializedView[] = [];
        let lastError: unknown;
        for (const m of pending) {
          try {
            await c.client.query(`REFRESH MATERIALIZED VIEW ${quoteQualified(m.schema, m.name)}`);
            refreshed.push(displayName(m.schema, m.name));
          } catch (e) {
            if (!isPgServerError(e) || e.code !== '55000')
              throw sqlError(e, 'target', `refreshing ${displayName(m.schema, m.name)}`);
            lastError = e;
            next.push(m);
          }
        }
        if (next.length === pending.length)
          throw sqlError(lastError, 'target', `refreshing ${displayName(next[0]!.schema, next[0]!.name)}`);
        pending = next;
      }
      return refreshed;
    },
  );
}
