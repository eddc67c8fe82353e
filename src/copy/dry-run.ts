import { displayName } from '../catalog/display.js';
import { withConnection } from '../pg/connect.js';
import type { PasswordPrompt } from '../pg/password.js';
import { splitPostData } from '../schema/per-table.js';
import type { DatabasePlan } from '../schema/plan.js';
import type { Task } from '../task/types.js';
import { jobFor, promptOf, sql } from './job.js';
import { planCopy } from './plan.js';
import { readServerFacts, readSourceTables } from './read.js';
import type { BlockRange, CopyFormat, CopyPlan } from './types.js';

/** One table of the copy plan, for `run --dry-run`. */
export interface PlannedTableCopy {
  /** 1-based: the order the workers start the table's first unit in (largest first). */
  readonly order: number;
  readonly schema: string;
  readonly name: string;
  readonly estimatedRows: number | undefined;
  readonly estimatedBytes: number;
  /** 1 for a table copied whole; else its ctid block ranges, copied in parallel. */
  readonly parts: number;
  readonly ranges: readonly BlockRange[];
  readonly format: CopyFormat;
  /** Why text, when text; binary is used wherever every column allows it (measured faster). */
  readonly formatReason: string | undefined;
  /** Keys and indexes built on the table as soon as its rows are in. */
  readonly keysAndIndexes: number;
}

export interface DatabaseCopyPlan {
  readonly source: string;
  readonly target: string;
  /** The source's encoding: binary is planned on the assumption the target uses the same. */
  readonly encoding: string;
  /** Tables bigger than this are split into ctid block ranges. */
  readonly splitBytes: number;
  /** Whether `splitBytes` was derived from the data's size (the task sets no `splitTableBytes`). */
  readonly splitAutomatic: boolean;
  readonly tables: readonly PlannedTableCopy[];
}

/** What `dts run --dry-run` says about the copy (mode full and full+incremental). */
export interface CopyPlanReport {
  readonly parallel: number;
  readonly databases: readonly DatabaseCopyPlan[];
}

/** The tables of a copy plan in the order their first unit starts. Pure. */
export function tablesInOrder(
  plan: CopyPlan,
  keysAndIndexes: (tableKey: string) => number,
): PlannedTableCopy[] {
  const first = new Map<string, number>();
  plan.units.forEach((u, i) => {
    if (!first.has(u.table.key)) first.set(u.table.key, i);
  });
  const ranges = new Map<string, BlockRange[]>();
  for (const u of plan.units)
    if (u.range) ranges.set(u.table.key, [...(ranges.get(u.table.key) ?? []), u.range]);
  const sorted = [...plan.tables].sort((a, b) => first.get(a.key)! - first.get(b.key)!);
  return sorted.map((t, i) => ({
    order: i + 1,
    schema: t.schema,
    name: t.name,
    estimatedRows: t.estimatedRows,
    estimatedBytes: t.estimatedBytes,
    parts: t.parts,
    ranges: (ranges.get(t.key) ?? []).sort((a, b) => (a.from ?? -1) - (b.from ?? -1)),
    format: t.format,
    formatReason: t.formatReason,
    keysAndIndexes: keysAndIndexes(t.key),
  }));
}

/**
 * The copy plan of every database of the schema plan, read from the source as it is now (the real run
 * reads it again inside its snapshot). The target is not contacted, so binary is planned as if the
 * target's encoding were the source's (the run falls back to text when it is not).
 */
export async function planCopyDryRun(
  task: Task,
  schema: readonly DatabasePlan[],
  deps: { readonly prompt?: PasswordPrompt } = {},
): Promise<CopyPlanReport> {
  const databases: DatabaseCopyPlan[] = [];
  for (const d of schema) {
    const job = jobFor(task, d.source, d.target);
    const { plan, encoding } = await withConnection(
      task.source,
      { side: 'source', database: d.source, ...promptOf(deps) },
      (c) =>
        sql('source', `reading the tables of ${displayName(d.source)}`, async () => {
          await c.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          try {
            const facts = await readServerFacts(c.client);
            const plan = planCopy({
              tables: await readSourceTables(c.client),
              patterns: job.patterns,
              splitTableBytes: task.options.splitTableBytes,
              parallel: task.options.parallel,
              blockSize: facts.blockSize,
              sameEncoding: true,
            });
            return { plan, encoding: facts.encoding };
          } finally {
            await c.client.query('ROLLBACK');
          }
        }),
    );
    const split = splitPostData(d, new Set(plan.tables.map((t) => t.key)));
    databases.push({
      source: d.source,
      target: d.target,
      encoding,
      splitBytes: plan.splitBytes,
      splitAutomatic: task.options.splitTableBytes === undefined,
      tables: tablesInOrder(plan, (key) => split.byTable.get(key)?.length ?? 0),
    });
  }
  return {
    parallel: Math.max(1, task.options.parallel),
    databases,
  };
}
