import { targetDatabaseName } from '../catalog/selection.js';
import { isDtsError } from '../errors.js';
import { withConnection } from '../pg/connect.js';
import type { PreparedSchema } from '../schema/index.js';
import { readSchemaMarks } from '../state/schema-marks.js';
import type { TaskState } from '../state/store.js';
import type { Task } from '../task/types.js';
import type { FullLoadDeps } from './full-load.js';
import { promptOf, sql, type DatabaseJob, type Loaded } from './job.js';
import { readMaterializedViews } from './read.js';
import type { TableLoadReport } from './report.js';

/** A load phase from which the database's rows are all on the target (its copy is not redone). */
export const COPIED_PHASES: ReadonlySet<string> = new Set(['copied', 'refresh', 'done']);

/** Which schema phases are committed in each database of the task (by source database). */
export type CommittedPhases = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * The schema phases committed in each target database: what `_dts.databases` records, and what the
 * marks in each target database say (they land with the DDL, so they also cover a run that died between
 * a database's COMMIT and its record). A database the target does not have yet has none.
 */
export async function committedPhases(
  task: Task,
  prepared: PreparedSchema,
  prior: TaskState | undefined,
  deps: FullLoadDeps,
): Promise<CommittedPhases> {
  const out = new Map<string, Set<string>>();
  for (const plan of prepared.databases) {
    const phases = new Set<string>();
    const recorded = prior?.databases.find((d) => d.source === plan.source);
    if (recorded?.preDataAt) phases.add('pre-data');
    if (recorded?.postDataAt) phases.add('post-data');
    if (plan.createDatabase === undefined) {
      const marks = await withConnection(
        task.target,
        { side: 'target', database: plan.target, ...promptOf(deps) },
        (c) =>
          sql('target', 'reading the schema marks in _dts', () =>
            readSchemaMarks(c.client, task.name, plan.source),
          ),
      );
      for (const m of marks) phases.add(m);
    }
    out.set(plan.source, phases);
  }
  return out;
}

/**
 * A database copied by an earlier run: its report from `_dts`, and its materialized views read again
 * (refresh comes after post-data). Large objects and sequences were set then and are not counted here.
 */
export async function copiedEarlier(
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
    { side: 'source', database: job.source, ...promptOf(deps) },
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
 * Whether any target database of the task holds a schema mark of it: an earlier run committed a schema
 * phase there (perhaps without living to record it in `_dts`). `run` then expects to find its own objects
 * on the target. Databases of `databases: all` are not listed without the source, so they are not looked at.
 */
export async function anySchemaMark(task: Task, deps: FullLoadDeps): Promise<boolean> {
  if (task.objects.databases === 'all') return false;
  for (const d of task.objects.databases) {
    const target = targetDatabaseName(task.objects, task.target.database, d.name);
    let marks: ReadonlySet<string>;
    try {
      marks = await withConnection(
        task.target,
        { side: 'target', database: target, ...promptOf(deps) },
        (c) => readSchemaMarks(c.client, task.name, d.name),
      );
    } catch (e) {
      // Not there yet, or not reachable: validate, which runs next, says why.
      if (isDtsError(e)) continue;
      throw e;
    }
    if (marks.size > 0) return true;
  }
  return false;
}
