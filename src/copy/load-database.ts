import { setTimeout as sleep } from 'node:timers/promises';
import { displayName } from '../catalog/display.js';
import { quoteQualified } from '../pg/quote.js';
import { splitPostData, type PostDataSplit } from '../schema/per-table.js';
import type { DatabasePlan, PlannedObject } from '../schema/plan.js';
import {
  recordLoadPhase,
  recordLoadStart,
  recordPhaseFinished,
  recordPhaseStarted,
  recordUnitDone,
  recordUnitStarted,
  recordUnitsPlanned,
  type Queryable,
  type UnitRef,
} from '../state/store.js';
import type { Task } from '../task/types.js';
import type { FullLoadListener, FullLoadPhase } from './events.js';
import type { FullLoadDeps } from './full-load.js';
import { sql, type DatabaseJob, type Loaded } from './job.js';
import { copyLargeObjects } from './large-objects.js';
import { openSnapshot } from './open-snapshot.js';
import { copyUnit } from './pipe.js';
import { readMaterializedViews } from './read.js';
import type { PhaseTimingReport, TableLoadReport } from './report.js';
import { copySequences } from './sequences.js';
import { stopError, stopReason } from './stop.js';
import { buildTablePostData, type TablePostDataResult } from './table-post-data.js';
import type { CopyUnit, TablePlan } from './types.js';
import { closeWorkers, runOnWorkers, type Worker } from './workers.js';

/** What a worker takes from the queue: a COPY, or what follows a table's last one (keys, indexes, ANALYZE). */
type Work =
  | { readonly kind: 'copy'; readonly unit: CopyUnit }
  | { readonly kind: 'table-done'; readonly table: TablePlan; readonly objects: readonly PlannedObject[] };

/** A loaded database, and what building its tables' keys and indexes did (when it was asked to). */
export interface DatabaseLoad {
  readonly loaded: Loaded;
  readonly tablePostData: readonly TablePostDataResult[];
  /** The schema plan's post-data split by the tables copied (empty when no plan was given). */
  readonly split: PostDataSplit;
}

/**
 * Copy one database: export a snapshot with the slot, let every worker import it, then copy tables,
 * large objects and sequences through those workers. With `schema`, each table's keys and indexes
 * are built by the same workers as soon as the table's last unit is in (they go before further
 * copies), so index builds overlap the copies of other tables. `fresh`: this run created every table of
 * the database itself (no earlier run of the task), so no key or index of them can exist yet.
 */
export async function loadDatabase(
  task: Task,
  job: DatabaseJob,
  state: Queryable,
  deps: FullLoadDeps,
  timings: PhaseTimingReport[],
  schema: DatabasePlan | undefined,
  fresh = false,
): Promise<DatabaseLoad> {
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
  const { snapshot, workers, replicaRole, plan, slot } = await openSnapshot(task, job, deps);
  timings.push({ phase: 'snapshot', database, ms: Date.now() - t0 });

  const first = workers[0]!;
  const postData = splitPostData(
    schema ?? {
      source: database,
      target: job.target,
      createDatabase: undefined,
      objects: [],
      skipped: [],
      warnings: [],
    },
    new Set(plan.tables.map((t) => t.key)),
  );
  // Test-only: end-to-end tests act on a run in progress (status, cancel, kill) without gigabytes of data.
  const unitDelayMs = Number(process.env.DTS_TEST_COPY_DELAY_MS ?? 0) || 0;
  const warnings: string[] = [];
  try {
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
    const partsLeft = new Map(plan.tables.map((t) => [t.key, t.parts]));
    const tablePostData: TablePostDataResult[] = [];
    await phase('copy', async () => {
      // Split tables are emptied once here; their ranges then only append.
      for (const t of plan.splitTables)
        await sql('target', `emptying ${displayName(t.schema, t.name)}`, () =>
          first.target.client.query(`TRUNCATE ONLY ${quoteQualified(t.schema, t.name)}`),
        );
      const copy = async (w: Worker, unit: CopyUnit): Promise<readonly Work[]> => {
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
        const left = partsLeft.get(unit.table.key)! - 1;
        partsLeft.set(unit.table.key, left);
        const objects = postData.byTable.get(unit.table.key) ?? [];
        return left === 0 ? [{ kind: 'table-done', table: unit.table, objects }] : [];
      };
      // A table's rows are all in: its keys and indexes, then ANALYZE (the end analyzes only the rest).
      const finish = async (w: Worker, table: TablePlan, objects: readonly PlannedObject[]) => {
        const name = displayName(table.schema, table.name);
        if (objects.length > 0) {
          const r = await sql('target', `building the keys and indexes of ${name}`, () =>
            buildTablePostData(w.target.client, table, objects, !fresh),
          );
          tablePostData.push(r);
          emit({
            type: 'table-post-data',
            database,
            table: name,
            built: r.result.created.length,
            already: r.already,
            failed: r.result.failed.length,
            ms: r.ms,
          });
        }
        await sql('target', `ANALYZE ${name}`, () =>
          w.target.client.query(`ANALYZE ${quoteQualified(table.schema, table.name)}`),
        );
      };
      // Closing the clients is the only way to stop a COPY in flight; the pool then rejects.
      const abort = () => {
        for (const w of workers) {
          void w.source.close();
          void w.target.close();
        }
      };
      const work: Work[] = plan.units.map((unit) => ({ kind: 'copy', unit }));
      await runOnWorkers<Worker, Work>(
        workers,
        work,
        async (w, item) => (item.kind === 'copy' ? copy(w, item.unit) : finish(w, item.table, item.objects)),
        abort,
        deps.signal,
      ).catch((e) => {
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
      loaded: {
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
        tablesAnalyzed: true,
      },
      tablePostData,
      split: postData,
    };
  } finally {
    await closeWorkers(workers);
  }
}
