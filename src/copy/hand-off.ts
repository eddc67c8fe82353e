import { displayName } from '../catalog/display.js';
import { withConnection } from '../pg/connect.js';
import { isPgServerError, sqlError } from '../pg/errors.js';
import { quoteQualified } from '../pg/quote.js';
import { applyObjects } from '../schema/apply.js';
import type { PostDataSplit } from '../schema/per-table.js';
import type { DatabasePlan, PlannedObject } from '../schema/plan.js';
import type { DatabaseSchemaReport } from '../schema/report.js';
import { markSchemaPhase } from '../state/schema-marks.js';
import type { Task } from '../task/types.js';
import type { FullLoadDeps } from './full-load.js';
import { promptOf, sql } from './job.js';
import { readMaterializedViews, type MaterializedView } from './read.js';
import { pendingObjects, type TablePostDataResult } from './table-post-data.js';

/**
 * The end of a database's post-data, once its rows and its tables' own keys and indexes are in: foreign
 * keys, partitioned parents' indexes and attachments, triggers, rules, policies and the rest, in one
 * transaction that also writes the database's post-data mark. `withTables`: the tables' own objects
 * were not built during the copy (it was done by an earlier run), so those not found built go here too,
 * in plan order.
 *
 * When a table's own objects failed (rolled back), what needs them is not attempted and this transaction
 * is rolled back too: a later run applies the end again, and builds only what is missing.
 */
export async function finishPostData(
  task: Task,
  plan: DatabasePlan,
  split: PostDataSplit,
  tables: readonly TablePostDataResult[],
  withTables: boolean,
  deps: FullLoadDeps,
): Promise<DatabaseSchemaReport> {
  const own = new Map<string, PlannedObject>();
  for (const objects of split.byTable.values()) for (const o of objects) own.set(o.key, o);
  return withConnection(task.target, { side: 'target', database: plan.target, ...promptOf(deps) }, (c) =>
    sql('target', `applying post-data (database ${plan.target})`, async () => {
      const pending = withTables
        ? new Set((await pendingObjects(c.client, [...own.values()])).map((o) => o.key))
        : new Set<string>();
      const objects = plan.objects.filter(
        (o) => o.phase === 'post-data' && (own.has(o.key) ? pending.has(o.key) : true),
      );
      const broken = new Map<string, string>();
      const failedTables = tables.filter((t) => !t.result.committed);
      for (const t of failedTables)
        for (const key of t.keys) {
          const o = own.get(key);
          if (o) broken.set(key, `${o.kind} ${o.name}`);
        }
      const result = await applyObjects(c.client, objects, {
        broken,
        rollback: failedTables.length > 0,
        beforeCommit: (db) => markSchemaPhase(db, task.name, plan.source, 'post-data'),
      });
      const committed = result.committed && failedTables.length === 0;
      return {
        source: plan.source,
        target: plan.target,
        createdDatabase: false,
        committed,
        created: [...tables.flatMap((t) => t.result.created), ...result.created],
        rolledBack: [...tables.flatMap((t) => t.result.rolledBack), ...result.rolledBack],
        failed: [...tables.flatMap((t) => t.result.failed), ...result.failed],
        notAttempted: [...tables.flatMap((t) => t.result.notAttempted), ...result.notAttempted],
        skipped: plan.skipped,
        warnings: plan.warnings,
      };
    }),
  );
}

/**
 * ANALYZE the target database, so its planner knows the loaded rows. `tablesAnalyzed`: the copy already
 * analyzed every table it loaded (right after its last unit), so only partitioned tables (statistics over
 * their partitions) and materialized views (refreshed after post-data) are left.
 */
export async function analyzeDatabase(
  task: Task,
  database: string,
  deps: FullLoadDeps,
  tablesAnalyzed = false,
): Promise<void> {
  await withConnection(task.target, { side: 'target', database, ...promptOf(deps) }, (c) =>
    sql('target', `ANALYZE (database ${database})`, async () => {
      if (!tablesAnalyzed) {
        await c.client.query('ANALYZE');
        return;
      }
      const { rows } = await c.client.query(REST_TO_ANALYZE);
      for (const r of rows as { schema: string; name: string }[])
        await c.client.query(`ANALYZE ${quoteQualified(r.schema, r.name)}`);
    }),
  );
}

/** What a database-wide ANALYZE covers beyond the tables the copy analyzed, in user schemas. */
const REST_TO_ANALYZE = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_dts')
  AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_'
ORDER BY 1, 2`;

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
    { side: 'target', database: targetDatabase, ...promptOf(deps) },
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
