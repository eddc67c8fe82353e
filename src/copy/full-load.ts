import { displayName } from '../catalog/display.js';
import { replicationNames } from '../catalog/names.js';
import { resolveDatabases, type DatabasePatterns } from '../catalog/selection.js';
import { DtsError, ExitCode, type Side } from '../errors.js';
import { connect, withConnection } from '../pg/connect.js';
import { isPgServerError, sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import { quoteQualified } from '../pg/quote.js';
import { migrateSchema } from '../schema/index.js';
import {
  ensureState,
  recordLoadPhase,
  recordLoadStart,
  recordPhaseFinished,
  recordPhaseStarted,
  recordTask,
  recordTaskPhase,
  recordUnitDone,
  recordUnitStarted,
  serialized,
  type Queryable,
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
import { createSlotWithSnapshot } from './snapshot.js';
import type { CopyUnit } from './types.js';
import { closeWorkers, openWorkers, runOnWorkers } from './workers.js';

/** What a full load needs from outside. */
export interface FullLoadDeps {
  readonly prompt?: PasswordPrompt;
  readonly onEvent?: FullLoadListener;
  /** Aborting stops starting COPYs and cuts the running ones short; runFullLoad then rejects. */
  readonly signal?: AbortSignal;
  /**
   * Keep the slot after the load (full+incremental streams from it). By default the slot is TEMPORARY:
   * it exists only to export the snapshot, and goes away with its connection even if dts crashes.
   */
  readonly keepSlot?: boolean;
}

/** A database of the task: the patterns that select its tables and where it goes. */
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

/**
 * `mode: full` (issue #4): schema pre-data, then every selected table copied as of ONE snapshot per
 * database with parallel COPY streams, large objects and sequences, then post-data (keys, indexes, FKs,
 * triggers...), materialized views refreshed and ANALYZE. Progress goes to `deps.onEvent`; durable state
 * to `_dts` in the target endpoint's database.
 *
 * Post-data runs once, after all data: the schema stage's API applies a phase for the whole task, so
 * indexes are not built table by table as each table finishes.
 */
export async function runFullLoad(task: Task, deps: FullLoadDeps = {}): Promise<FullLoadReport> {
  const started = Date.now();
  const emit: FullLoadListener = (e) => deps.onEvent?.(e);
  const onStep = (text: string) => emit({ type: 'step', text });
  const timings: PhaseTimingReport[] = [];
  const schemaDeps = { ...prompt(deps), onStep };

  emit({ type: 'phase', database: undefined, phase: 'pre-data' });
  let t0 = Date.now();
  const preData = await migrateSchema(task, { ...schemaDeps, phases: ['pre-data'] });
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

  // The state lives in the target endpoint's database, which exists now (pre-data creates databases).
  const stateConnection = await connect(task.target, { side: 'target', ...prompt(deps) });
  const state = serialized(stateConnection.client);
  try {
    await sql('target', 'creating the _dts state schema', async () => {
      await ensureState(state);
      await recordTask(state, task.name, task.mode, 'copy');
    });
    const jobs = preData.databases.map((d): DatabaseJob => {
      const { databases } = resolveDatabases(task.objects, [
        { name: d.source, allowConnections: true, isTemplate: false },
      ]);
      return { source: d.source, target: d.target, patterns: databases[0]! };
    });

    const loaded: Loaded[] = [];
    for (const job of jobs) loaded.push(await loadDatabase(task, job, state, deps, timings));

    await recordTaskPhase(state, task.name, 'post-data');
    emit({ type: 'phase', database: undefined, phase: 'post-data' });
    t0 = Date.now();
    const postData = await migrateSchema(task, { ...schemaDeps, phases: ['post-data'] });
    timings.push({ phase: 'post-data', database: undefined, ms: Date.now() - t0 });

    const databases: DatabaseLoadReport[] = [];
    for (const { report, matviews } of loaded) {
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
    await recordTaskPhase(state, task.name, postData.ok ? 'done' : 'post-data failed');
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
    await recordTaskPhase(state, task.name, 'failed').catch(() => undefined);
    throw e;
  } finally {
    await stateConnection.close();
  }
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
  const { slot } = replicationNames(task, database);
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

    const results = new Map<string, { rows: number; bytes: number; start: number; end: number }>();
    await phase('copy', async () => {
      // Split tables are emptied once here; their ranges then only append.
      for (const t of plan.splitTables)
        await sql('target', `emptying ${displayName(t.schema, t.name)}`, () =>
          first.target.client.query(`TRUNCATE ONLY ${quoteQualified(t.schema, t.name)}`),
        );
      const run = async (w: (typeof workers)[number], unit: CopyUnit) => {
        const table = displayName(unit.table.schema, unit.table.name);
        const ref: UnitRef = {
          task: task.name,
          database,
          schema: unit.table.schema,
          table: unit.table.name,
          part: unit.part,
          parts: unit.table.parts,
          format: unit.table.format,
        };
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
        if (deps.signal?.aborted)
          throw new DtsError('interrupted', `copy of ${displayName(database)} interrupted`, {
            hint: 'run the task again to start the load over',
            exitCode: ExitCode.target,
            cause: e,
          });
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
async function refreshMaterializedViews(
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
