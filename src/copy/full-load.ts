import { displayName } from '../catalog/display.js';
import { DtsError } from '../errors.js';
import { connect } from '../pg/connect.js';
import type { PasswordPrompt } from '../pg/password.js';
import { applySchema, prepareSchema, type SchemaDeps } from '../schema/index.js';
import { splitPostData } from '../schema/per-table.js';
import type { DatabaseSchemaReport, SchemaReport } from '../schema/report.js';
import { markSchemaPhase } from '../state/schema-marks.js';
import {
  ensureState,
  recordDatabase,
  recordLoadPhase,
  recordRunner,
  recordSchemaPhaseDone,
  recordTask,
  recordTaskPhase,
  serialized,
  type RunnerInfo,
  type TaskState,
} from '../state/store.js';
import type { Task } from '../task/types.js';
import type { FullLoadListener } from './events.js';
import { analyzeDatabase, finishPostData, refreshMaterializedViews } from './hand-off.js';
import { jobFor, promptOf, sql, type Loaded } from './job.js';
import { loadDatabase } from './load-database.js';
import type { DatabaseLoadReport, FullLoadReport, PhaseTimingReport } from './report.js';
import { committedPhases, copiedEarlier, COPIED_PHASES } from './resume.js';
import { stopError, stopReason } from './stop.js';
import type { TablePostDataResult } from './table-post-data.js';

export { refreshMaterializedViews } from './hand-off.js';
export { stopError, type StopReason } from './stop.js';

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
  /**
   * Called after the publication is made and before the slot (full+incremental): tests use it to
   * change the source at exactly that moment.
   */
  readonly afterPublication?: (database: string) => Promise<void>;
}

/**
 * Test-only: `DTS_TEST_KILL_AFTER_PRE_DATA=<source database>` kills the process (SIGKILL) right after
 * that database's pre-data COMMIT, before `_dts` records it: the window a resumed run must survive.
 */
const killAfterPreData = process.env.DTS_TEST_KILL_AFTER_PRE_DATA;

/**
 * `mode: full` (issue #4): schema pre-data, then every selected table copied as of ONE snapshot per
 * database with parallel COPY streams, each table's keys and indexes built as soon as its rows are in
 * (by the same workers, between copies), large objects and sequences, then the rest of post-data
 * (foreign keys, triggers, rules, policies...), materialized views refreshed and ANALYZE. Progress goes to
 * `deps.onEvent`; durable state to `_dts` in the target endpoint's database.
 *
 * Resume (`deps.prior`): what is committed is not done again. A schema phase of a database is committed
 * when `_dts` records it or when the database's own mark says so (the mark is written in the schema
 * transaction, see state/schema-marks.ts). The copy of a database whose load reached `copied` is not
 * redone, nor refresh and ANALYZE of one that reached `done`. A database whose copy did not finish is
 * copied again from a NEW snapshot (the exported one died with the run); every table of it is emptied
 * first, in the same transaction as its COPY (or once before the ranges of a split table), so rows are
 * never there twice. Keys and indexes found built (by name) are not built again.
 */
export async function runFullLoad(task: Task, deps: FullLoadDeps = {}): Promise<FullLoadReport> {
  const started = Date.now();
  const emit: FullLoadListener = (e) => deps.onEvent?.(e);
  const onStep = (text: string) => emit({ type: 'step', text });
  const timings: PhaseTimingReport[] = [];
  const schemaDeps: SchemaDeps = { ...promptOf(deps), onStep };
  const prior = deps.prior;

  const prepared = await prepareSchema(task, schemaDeps);
  const committed = await committedPhases(task, prepared, prior, deps);
  const has = (database: string, phase: string) => committed.get(database)?.has(phase) ?? false;
  const preDone = new Set(prepared.databases.filter((d) => has(d.source, 'pre-data')).map((d) => d.source));

  let t0 = Date.now();
  let preData: SchemaReport;
  if (prepared.databases.length > 0 && preDone.size === prepared.databases.length) {
    onStep('the schema (pre-data) was created by an earlier run; not creating it again');
    preData = { task: task.name, ok: true, databases: [], durationMs: 0 };
  } else {
    for (const d of preDone)
      onStep(
        `the schema (pre-data) of ${displayName(d)} was created by an earlier run; not creating it again`,
      );
    emit({ type: 'phase', database: undefined, phase: 'pre-data' });
    preData = await applySchema(task, prepared, {
      ...schemaDeps,
      phases: ['pre-data'],
      skipDatabases: preDone,
      beforeCommit: (db, plan) => markSchemaPhase(db, task.name, plan.source, 'pre-data'),
      onDatabaseDone: (d) => {
        if (d.committed && killAfterPreData === d.source) process.kill(process.pid, 'SIGKILL');
      },
    });
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
  }

  // The state lives in the target endpoint's database, which exists now (pre-data creates databases).
  const stateConnection = await connect(task.target, { side: 'target', ...promptOf(deps) });
  const state = serialized(stateConnection.client);
  const checkpoint = () => {
    if (deps.signal?.aborted) throw stopError(task, stopReason(deps.signal));
  };
  try {
    await sql('target', 'creating the _dts state schema', async () => {
      await ensureState(state);
      await recordTask(state, task.name, task.mode, 'copy');
      if (deps.runner) await recordRunner(state, task.name, deps.runner);
      for (const plan of prepared.databases) {
        const created =
          preData.databases.find((d) => d.source === plan.source)?.createdDatabase ??
          prior?.databases.find((d) => d.source === plan.source)?.createdDatabase ??
          false;
        await recordDatabase(state, task.name, {
          source: plan.source,
          target: plan.target,
          createdDatabase: created,
        });
        await recordSchemaPhaseDone(state, task.name, plan.source, 'pre-data');
      }
    });
    checkpoint();

    const loaded: Loaded[] = [];
    const postReports: DatabaseSchemaReport[] = [];
    let postMs = 0;
    for (const plan of prepared.databases) {
      checkpoint();
      const job = jobFor(task, plan.source, plan.target);
      const postDone = has(plan.source, 'post-data');
      const before = prior?.loads.find((l) => l.sourceDatabase === job.source);
      let tables: readonly TablePostDataResult[] = [];
      let split;
      let withTables = false;
      if (before && COPIED_PHASES.has(before.phase)) {
        onStep(
          `${displayName(job.source)} was copied by an earlier run (snapshot ${before.consistentPoint})`,
        );
        loaded.push(await copiedEarlier(task, job, prior!, deps));
        const all = new Set(plan.objects.flatMap((o) => (o.builds ? [o.builds.tableKey] : [])));
        split = splitPostData(plan, all);
        withTables = true;
      } else {
        if (before)
          onStep(
            `the copy of ${displayName(job.source)} was interrupted; copying it again from a new snapshot`,
          );
        // An earlier database's post-data said `post-data`; this one is copying.
        await recordTaskPhase(state, task.name, 'copy');
        const fresh = prior === undefined && !preDone.has(job.source);
        const r = await loadDatabase(task, job, state, deps, timings, postDone ? undefined : plan, fresh);
        loaded.push(r.loaded);
        tables = r.tablePostData;
        split = r.split;
      }
      checkpoint();
      if (postDone) {
        onStep(
          `post-data of ${displayName(job.source)} was committed by an earlier run; not creating it again`,
        );
        continue;
      }
      await recordTaskPhase(state, task.name, 'post-data');
      emit({ type: 'phase', database: job.source, phase: 'post-data' });
      t0 = Date.now();
      const report = await finishPostData(task, plan, split!, tables, withTables, deps);
      postMs += Date.now() - t0;
      timings.push({ phase: 'post-data', database: job.source, ms: Date.now() - t0 });
      if (report.committed) await recordSchemaPhaseDone(state, task.name, job.source, 'post-data');
      postReports.push(report);
    }
    const postData: SchemaReport = {
      task: task.name,
      ok: postReports.every((d) => d.committed),
      databases: postReports,
      durationMs: postMs,
    };

    const databases: DatabaseLoadReport[] = [];
    for (const { report, matviews, tablesAnalyzed } of loaded) {
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
      await analyzeDatabase(task, report.target, deps, tablesAnalyzed);
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
