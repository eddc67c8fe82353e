import type { DatabasePlan, PlannedObject } from './plan.js';

/** A database's post-data, split for a full load (see `splitPostData`). */
export interface PostDataSplit {
  /** Per copied table (source catalog key): its keys and indexes, in plan order. */
  readonly byTable: ReadonlyMap<string, readonly PlannedObject[]>;
  /** Everything else of post-data, in plan order: applied once every table's own objects are in. */
  readonly rest: readonly PlannedObject[];
}

/**
 * Which post-data objects a full load builds table by table, as soon as that table's rows are in (like
 * pg_restore does), and which wait for the end. Pure.
 *
 * Per table: primary keys, unique and exclusion constraints and plain indexes of a table whose rows are
 * copied, when they need nothing but the table. They touch that table alone, so building one while
 * other tables are being copied takes no lock a COPY waits for. At the end, in plan order: everything
 * cross-table or cheap (foreign keys, NOT VALID checks, triggers, rules, policies, table settings,
 * statistics, event triggers, default privileges) and the partitioned parents' indexes and keys, which
 * are created ON ONLY the parent and then have each partition's index attached: after all of those exist.
 */
export function splitPostData(plan: DatabasePlan, copiedTables: ReadonlySet<string>): PostDataSplit {
  const byTable = new Map<string, PlannedObject[]>();
  const rest: PlannedObject[] = [];
  for (const o of plan.objects) {
    if (o.phase !== 'post-data') continue;
    const table = o.builds?.tableKey;
    const own =
      table !== undefined &&
      copiedTables.has(table) &&
      (o.kind === 'index' || o.kind === 'constraint') &&
      o.requires.every((k) => k === table);
    if (own) byTable.set(table, [...(byTable.get(table) ?? []), o]);
    else rest.push(o);
  }
  return { byTable, rest };
}
