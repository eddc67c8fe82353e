import type { Queryable } from '../catalog/schema/read.js';
import { isPgServerError } from '../pg/errors.js';
import type { DatabasePlan, Phase, PlannedObject } from './plan.js';
import type { FailedObject, NotAttemptedObject, ObjectRef } from './report.js';

/** Settings for the schema transaction, like pg_restore's: names in the DDL are all qualified. */
export const APPLY_SETTINGS = [
  `SET LOCAL check_function_bodies = off`,
  `SET LOCAL client_min_messages = warning`,
  `SELECT pg_catalog.set_config('search_path', '', true)`,
] as const;

export interface ApplyResult {
  readonly committed: boolean;
  readonly created: readonly ObjectRef[];
  readonly rolledBack: readonly ObjectRef[];
  readonly failed: readonly FailedObject[];
  readonly notAttempted: readonly NotAttemptedObject[];
}

export type ApplyProgress = (object: PlannedObject, outcome: 'created' | 'failed' | 'not attempted') => void;

const ref = (o: PlannedObject): ObjectRef => ({ kind: o.kind, name: o.name, phase: o.phase });

/** How `applyObjects` ends its transaction, and what it knows from earlier transactions. */
export interface ApplyOptions {
  readonly onProgress?: ApplyProgress;
  /** Objects that failed (or were rolled back) elsewhere, by key, with the name said in messages. */
  readonly broken?: ReadonlyMap<string, string>;
  /**
   * Runs inside the transaction just before COMMIT when nothing failed: a record that must land
   * exactly when the DDL does (a crash can never leave one without the other).
   */
  readonly beforeCommit?: (db: Queryable) => Promise<void>;
  /** Roll back even when nothing failed (an earlier part of the same phase failed). Default false. */
  readonly rollback?: boolean;
}

/**
 * Apply the plan's objects of the given phases in ONE transaction on the target database, each object
 * under its own savepoint so every failure is found and reported, not only the first. Objects that need a
 * failed one are not attempted. When anything failed the whole transaction is rolled back: the target is
 * left as it was, and the report lists what failed and what would have been created.
 */
export async function applyPlan(
  db: Queryable,
  plan: DatabasePlan,
  phases: readonly Phase[],
  onProgress: ApplyProgress = () => undefined,
  beforeCommit?: (db: Queryable) => Promise<void>,
): Promise<ApplyResult> {
  return applyObjects(
    db,
    plan.objects.filter((o) => phases.includes(o.phase)),
    beforeCommit ? { onProgress, beforeCommit } : { onProgress },
  );
}

/** `applyPlan` for a given list of objects (a full load applies post-data table by table). */
export async function applyObjects(
  db: Queryable,
  objects: readonly PlannedObject[],
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const onProgress = options.onProgress ?? (() => undefined);
  const done: ObjectRef[] = [];
  const failed: FailedObject[] = [];
  const notAttempted: NotAttemptedObject[] = [];
  const broken = new Map<string, string>(options.broken ?? []);
  await db.query('BEGIN');
  try {
    for (const s of APPLY_SETTINGS) await db.query(s);
    for (const o of objects) {
      const blocker = o.requires.find((k) => broken.has(k));
      if (blocker !== undefined) {
        broken.set(o.key, broken.get(blocker)!);
        notAttempted.push({ ...ref(o), reason: `needs ${broken.get(blocker)!}, which failed` });
        onProgress(o, 'not attempted');
        continue;
      }
      await db.query('SAVEPOINT dts_object');
      let current = '';
      try {
        for (const statement of o.statements) {
          current = statement;
          await db.query(statement);
        }
        await db.query('RELEASE SAVEPOINT dts_object');
        done.push(ref(o));
        onProgress(o, 'created');
      } catch (e) {
        if (!isPgServerError(e)) throw e;
        await db.query('ROLLBACK TO SAVEPOINT dts_object');
        broken.set(o.key, `${o.kind} ${o.name}`);
        failed.push({
          ...ref(o),
          message: e.message,
          sqlstate: e.code,
          detail: e.detail,
          hint: e.hint,
          statement: current,
        });
        onProgress(o, 'failed');
      }
    }
    if (failed.length > 0 || options.rollback) {
      await db.query('ROLLBACK');
      return { committed: false, created: [], rolledBack: done, failed, notAttempted };
    }
    if (options.beforeCommit) await options.beforeCommit(db);
    await db.query('COMMIT');
    return { committed: true, created: done, rolledBack: [], failed, notAttempted };
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
