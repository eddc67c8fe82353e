import { setTimeout as sleep } from 'node:timers/promises';
import { displayName } from '../catalog/display.js';
import { replicationNames } from '../catalog/names.js';
import { DtsError, ExitCode } from '../errors.js';
import { connect, withConnection } from '../pg/connect.js';
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
import { promptOf, sql, type DatabaseJob, type Loaded } from './job.js';
import { copyLargeObjects } from './large-objects.js';
import { copyUnit } from './pipe.js';
import { planCopy } from './plan.js';
import { readMaterializedViews, readServerFacts, readSourceTables } from './read.js';
import type { PhaseTimingReport, TableLoadReport } from './report.js';
import { copySequences } from './sequences.js';
import {
  createPublication,
  createSlotWithSnapshot,
  dropSlotIfExists,
  readPublishedTables,
  type ExportedSnapshot,
} from './snapshot.js';
import { buildTablePostData, type TablePostDataResult } from './table-post-data.js';
import type { CopyPlan, CopyUnit, TablePlan } from './types.js';
import { closeWorkers, openWorkers, runOnWorkers, type Worker } from './workers.js';
import { stopError, stopReason } from './stop.js';

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

/** How often a snapshot is taken again when the tables changed while it was being taken. */
const SNAPSHOT_ATTEMPTS = 3;

/** The set of tables the publication lists differs from the set the snapshot sees (see `takeSnapshot`). */
class SelectionMoved extends Error {
  constructor(readonly difference: readonly string[]) {
    super(`the selected tables changed while the snapshot was taken: ${difference.join(', ')}`);
  }
}

const tableSet = (tables: readonly { schema: string; name: string }[]) =>
  new Set(tables.map((t) => displayName(t.schema, t.name)));

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
  let taken: Awaited<ReturnType<typeof takeSnapshot>> | undefined;
  for (let attempt = 1; taken === undefined; attempt++) {
    try {
      taken = await takeSnapshot(task, job, deps);
    } catch (e) {
      if (!(e instanceof SelectionMoved)) throw e;
      if (attempt >= SNAPSHOT_ATTEMPTS) {
        // The kept slot of the last attempt would hold WAL for nothing; the next run makes its own.
        const { slot } = replicationNames(task, database);
        await withConnection(task.source, { side: 'source', database, ...promptOf(deps) }, (c) =>
          sql('source', `dropping the replication slot ${slot}`, () => dropSlotIfExists(c.client, slot)),
        );
        throw new DtsError(
          'selection-moving',
          `source: the selected tables of ${displayName(database)} kept changing while the snapshot was taken`,
          {
            hint: 'run again once tables are no longer being created or dropped in the source database',
            exitCode: ExitCode.source,
            details: [`changed: ${e.difference.join(', ')}`],
          },
        );
      }
      emit({
        type: 'step',
        text: `tables were created or dropped in ${displayName(database)} while the snapshot was taken (${e.difference.join(', ')}); taking it again`,
      });
    }
  }
  const { snapshot, workers, replicaRole, plan, slot } = taken;
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

/**
 * The publication (full+incremental), the slot with its exported snapshot, the workers inside it, and
 * the copy plan read inside it.
 *
 * Invariant (full+incremental): the tables copied are exactly the tables the publication lists, both
 * as of the snapshot. The publication is made from a read taken before the slot; a table created or
 * dropped in between would be copied without its changes, or published without its rows. So the
 * selection is read again inside the snapshot, and the publication's list with it (catalog reads see the
 * snapshot too); when they differ, everything is dropped and taken again (SelectionMoved).
 */
async function takeSnapshot(
  task: Task,
  job: DatabaseJob,
  deps: FullLoadDeps,
): Promise<{
  readonly snapshot: ExportedSnapshot;
  readonly workers: readonly Worker[];
  readonly replicaRole: boolean;
  readonly plan: CopyPlan;
  readonly slot: string;
}> {
  const database = job.source;
  const prompt = promptOf(deps);
  const { slot, publication } = replicationNames(task, database);
  if (deps.keepSlot) {
    await withConnection(task.source, { side: 'source', database, ...prompt }, (c) =>
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
    await deps.afterPublication?.(database);
  }
  const replication = await connect(task.source, { side: 'source', database, replication: true, ...prompt });
  let opened;
  let snapshot;
  try {
    snapshot = await createSlotWithSnapshot(replication, slot, !deps.keepSlot);
    deps.onEvent?.({
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
      ...prompt,
    });
  } finally {
    // Imported snapshots outlive their exporter; a temporary slot is dropped here, a kept one stays.
    await replication.close();
  }
  const { workers, replicaRole } = opened;
  const first = workers[0]!;
  try {
    const { plan, published } = await sql(
      'source',
      `reading the tables of ${displayName(database)}`,
      async () => {
        const facts = await readServerFacts(first.source.client);
        const targetFacts = await readServerFacts(first.target.client);
        const plan = planCopy({
          tables: await readSourceTables(first.source.client),
          patterns: job.patterns,
          splitTableBytes: task.options.splitTableBytes,
          blockSize: facts.blockSize,
          sameEncoding: facts.encoding === targetFacts.encoding,
        });
        const published = deps.keepSlot
          ? await readPublishedTables(first.source.client, publication)
          : undefined;
        return { plan, published };
      },
    );
    if (published !== undefined) {
      const copied = tableSet(plan.tables);
      const listed = tableSet(published);
      const difference = [
        ...[...copied].filter((t) => !listed.has(t)).map((t) => `${t} (new)`),
        ...[...listed].filter((t) => !copied.has(t)).map((t) => `${t} (gone)`),
      ];
      if (difference.length > 0) throw new SelectionMoved(difference);
    }
    return { snapshot, workers, replicaRole, plan, slot };
  } catch (e) {
    await closeWorkers(workers);
    throw e;
  }
}
