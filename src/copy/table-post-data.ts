import { displayName } from '../catalog/display.js';
import { quoteQualified } from '../pg/quote.js';
import { applyObjects, type ApplyResult } from '../schema/apply.js';
import type { PlannedObject } from '../schema/plan.js';
import type { Queryable } from './read.js';

/**
 * The objects not built yet. Each table's keys and indexes are applied in one transaction, so after a
 * crash they are either all there or none; what a run finds by name is what an earlier one committed,
 * whether or not its `_dts` record landed. An object that builds no index relation is always pending.
 */
export async function pendingObjects(
  db: Queryable,
  objects: readonly PlannedObject[],
): Promise<readonly PlannedObject[]> {
  const named = objects.filter((o) => o.builds !== undefined);
  if (named.length === 0) return objects;
  const { rows } = await db.query(
    `SELECT n FROM unnest($1::text[]) AS n WHERE pg_catalog.to_regclass(n) IS NOT NULL`,
    [named.map((o) => quoteQualified(o.builds!.schema, o.builds!.name))],
  );
  const present = new Set((rows as { n: string }[]).map((r) => r.n));
  return objects.filter(
    (o) => o.builds === undefined || !present.has(quoteQualified(o.builds.schema, o.builds.name)),
  );
}

/** What building one table's keys and indexes did. */
export interface TablePostDataResult {
  readonly table: string;
  /** The keys of the table's objects (all of them: a failure rolls them all back). */
  readonly keys: readonly string[];
  /** Objects found built by an earlier run, not built again. */
  readonly already: number;
  readonly result: ApplyResult;
  readonly ms: number;
}

/**
 * Build one table's keys and indexes (see `splitPostData`) in one transaction on `db`, a target
 * connection of the table's database; `earlierRuns` false (no run of the task before this one) skips
 * looking for objects built by them. A failure rolls that table's objects back and is reported, not
 * thrown: the load goes on, and post-data's end leaves out what needs them.
 */
export async function buildTablePostData(
  db: Queryable,
  table: { readonly schema: string; readonly name: string },
  objects: readonly PlannedObject[],
  earlierRuns = true,
): Promise<TablePostDataResult> {
  const started = Date.now();
  // A first run created the table itself in pre-data: nothing of it can be built yet.
  const pending = earlierRuns ? await pendingObjects(db, objects) : objects;
  const result = await applyObjects(db, pending);
  return {
    table: displayName(table.schema, table.name),
    keys: objects.map((o) => o.key),
    already: objects.length - pending.length,
    result,
    ms: Date.now() - started,
  };
}
