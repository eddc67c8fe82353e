import { displayName } from '../catalog/display.js';
import { resolveDatabases, targetDatabaseName, type DatabasePatterns } from '../catalog/selection.js';
import { readDatabases, readServerInfo } from '../catalog/server.js';
import {
  readDatabaseNames,
  readRoleNames,
  readSchemaCatalog,
  type Queryable,
} from '../catalog/schema/read.js';
import type { SchemaCatalog } from '../catalog/schema/types.js';
import { DtsError, ExitCode, type Side } from '../errors.js';
import { connectInstance, withConnection, type Connection } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import { applyPlan, type ApplyProgress } from './apply.js';
import { planDatabase, type DatabasePlan, type Phase } from './plan.js';
import type { DatabaseSchemaReport, SchemaPlanReport, SchemaReport } from './report.js';

export type { DatabasePlan, Phase, PlannedObject, ObjectKind, SkippedObject } from './plan.js';
export type * from './report.js';
export { planDatabase } from './plan.js';
export { applyObjects, type ApplyOptions, type ApplyResult } from './apply.js';

/** What schema migration needs from outside: how to ask for a password, where to report progress. */
export interface SchemaDeps {
  readonly prompt?: PasswordPrompt;
  /** Which part of the schema stage to run; `structure` mode runs both, in one transaction per database. */
  readonly phases?: readonly Phase[];
  readonly onProgress?: (database: string, ...rest: Parameters<ApplyProgress>) => void;
  /** A line for people (e.g. `reading the source catalogs of shop`). */
  readonly onStep?: (text: string) => void;
  /** Source databases whose phases were committed by an earlier run: left alone. */
  readonly skipDatabases?: ReadonlySet<string>;
  /**
   * Runs in each database's schema transaction just before COMMIT (a record that must land with the
   * DDL, never without it).
   */
  readonly beforeCommit?: (db: Queryable, plan: DatabasePlan) => Promise<void>;
  /** After each database's transaction ended (committed or rolled back), with its report. */
  readonly onDatabaseDone?: (report: DatabaseSchemaReport) => void;
}

/** Every selected database's plan, against the target as it is now (`prepareSchema`). */
export interface PreparedSchema {
  readonly task: string;
  readonly databases: readonly DatabasePlan[];
}

interface DatabaseTarget {
  readonly patterns: DatabasePatterns;
  readonly target: string;
}

async function run<T>(conn: Connection, side: Side, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw sqlError(e, side, `${doing} (database ${conn.database})`);
  }
}

/**
 * The databases to migrate and where each goes. A single listed database goes into the target endpoint's
 * database; several (or `all`) go into databases of the same name, created when missing.
 */
async function databaseTargets(task: Task, deps: SchemaDeps): Promise<readonly DatabaseTarget[]> {
  const sourceDatabases = await withConnection(task.source, { side: 'source', ...prompt(deps) }, (c) =>
    run(c, 'source', 'listing databases', () => readDatabases(c.client)),
  );
  const { databases, unknown } = resolveDatabases(task.objects, sourceDatabases);
  if (unknown.length)
    throw new DtsError(
      'unknown-database',
      `source: no database named ${unknown.map((d) => displayName(d)).join(', ')}`,
      { hint: 'check objects.databases in the task file', exitCode: ExitCode.source },
    );
  return databases.map((patterns) => ({
    patterns,
    target: targetDatabaseName(task.objects, task.target.database, patterns.database),
  }));
}

const prompt = (deps: SchemaDeps) => (deps.prompt ? { prompt: deps.prompt } : {});

async function readSource(task: Task, database: string, deps: SchemaDeps): Promise<SchemaCatalog> {
  deps.onStep?.(`reading the schema of ${displayName(database)} on the source`);
  return withConnection(task.source, { side: 'source', database, ...prompt(deps) }, (c) =>
    run(c, 'source', 'reading the catalogs', async () => {
      const info = await readServerInfo(c.client);
      await c.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return await readSchemaCatalog(c.client, info.versionNum);
      } finally {
        await c.client.query('ROLLBACK');
      }
    }),
  );
}

function refuseMissingRoles(task: Task, missing: ReadonlySet<string>): void {
  if (task.options.missingRoles !== 'error' || missing.size === 0) return;
  const names = [...missing].sort().map((r) => displayName(r));
  throw new DtsError('missing-roles', `target: ${names.length} role(s) the schema refers to do not exist`, {
    hint: 'create them on the target, map them with options.roleMap, or set options.missingRoles: skip',
    exitCode: ExitCode.target,
    details: [`missing: ${names.join(', ')}`],
  });
}

/**
 * The DDL plan for every selected database, without changing anything. With `readTarget` false (dry run)
 * the target is not contacted at all: roles are assumed to exist and listed in the result instead.
 */
export async function planSchema(
  task: Task,
  deps: SchemaDeps & { readonly readTarget?: boolean } = {},
): Promise<SchemaPlanReport> {
  const targets = await databaseTargets(task, deps);
  const plans: DatabasePlan[] = [];
  const roles = new Set<string>();
  const collect = {
    roleMap: task.options.roleMap,
    missingRoles: 'error' as const,
    targetRoles: new Set<string>(),
  };
  for (const t of targets) {
    const catalog = await readSource(task, t.patterns.database, deps);
    const { plan, missingRoles } = planDatabase({
      catalog,
      patterns: t.patterns,
      targetDatabase: t.target,
      createDatabase: false,
      roles: collect,
    });
    plans.push(plan);
    for (const r of missingRoles) roles.add(r);
  }
  return { task: task.name, databases: plans, roles: [...roles].sort() };
}

/**
 * Create on the target every selected object of the source (issue #3): read the source catalogs, plan
 * (pure), apply in one transaction per database. Returns what was created and what failed; throws only
 * when it cannot start (unreachable server, missing roles with missingRoles: error).
 */
export async function migrateSchema(task: Task, deps: SchemaDeps = {}): Promise<SchemaReport> {
  const started = Date.now();
  return applySchema(task, await prepareSchema(task, deps), deps, started);
}

/**
 * Read the source catalogs and plan every selected database against the target (its roles and
 * databases). Throws when it cannot start (unreachable server, missing roles with missingRoles: error).
 */
export async function prepareSchema(task: Task, deps: SchemaDeps = {}): Promise<PreparedSchema> {
  const targets = await databaseTargets(task, deps);
  // The target database may not exist yet: roles and databases are instance-wide, any database will do.
  const instance = await connectInstance(task.target, { side: 'target', ...prompt(deps) });
  const targetInfo = await run(instance, 'target', 'reading roles and databases', async () => ({
    roles: await readRoleNames(instance.client),
    databases: await readDatabaseNames(instance.client),
    superuser: (await readServerInfo(instance.client)).role.superuser,
  })).finally(() => instance.close());

  const planned: { plan: DatabasePlan }[] = [];
  const missing = new Set<string>();
  for (const t of targets) {
    const catalog = await readSource(task, t.patterns.database, deps);
    const create = !targetInfo.databases.has(t.target);
    const { plan, missingRoles } = planDatabase({
      catalog,
      patterns: t.patterns,
      targetDatabase: t.target,
      createDatabase: create,
      roles: {
        roleMap: task.options.roleMap,
        missingRoles: task.options.missingRoles,
        targetRoles: targetInfo.roles,
      },
    });
    for (const r of missingRoles) missing.add(r);
    planned.push({ plan: targetInfo.superuser ? plan : withoutEventTriggers(plan) });
  }
  refuseMissingRoles(task, missing);
  return { task: task.name, databases: planned.map((p) => p.plan) };
}

/**
 * Apply the prepared plans' phases (`deps.phases`, default both): create each missing database, then
 * one transaction per database. Databases in `deps.skipDatabases` are left alone and not reported.
 */
export async function applySchema(
  task: Task,
  prepared: PreparedSchema,
  deps: SchemaDeps = {},
  started = Date.now(),
): Promise<SchemaReport> {
  const phases = deps.phases ?? ['pre-data', 'post-data'];
  const databases: DatabaseSchemaReport[] = [];
  for (const plan of prepared.databases) {
    if (deps.skipDatabases?.has(plan.source)) continue;
    if (plan.createDatabase) {
      deps.onStep?.(`creating database ${displayName(plan.target)} on the target`);
      const c = await connectInstance(task.target, { side: 'target', database: 'postgres', ...prompt(deps) });
      await run(c, 'target', `creating database ${displayName(plan.target)}`, () =>
        c.client.query(plan.createDatabase!),
      ).finally(() => c.close());
    }
    deps.onStep?.(`creating the schema of ${displayName(plan.source)} in ${displayName(plan.target)}`);
    const result = await withConnection(
      task.target,
      { side: 'target', database: plan.target, ...prompt(deps) },
      (c) =>
        run(c, 'target', 'applying the schema', () =>
          applyPlan(
            c.client,
            plan,
            phases,
            (o, outcome) => deps.onProgress?.(plan.target, o, outcome),
            deps.beforeCommit ? (db) => deps.beforeCommit!(db, plan) : undefined,
          ),
        ),
    );
    const report: DatabaseSchemaReport = {
      source: plan.source,
      target: plan.target,
      createdDatabase: plan.createDatabase !== undefined,
      ...result,
      skipped: plan.skipped,
      warnings: plan.warnings,
    };
    databases.push(report);
    deps.onDatabaseDone?.(report);
  }
  return {
    task: task.name,
    ok: databases.every((d) => d.committed),
    databases,
    durationMs: Date.now() - started,
  };
}

/** Only superusers may create event triggers: without one, they are skipped and said so. */
function withoutEventTriggers(plan: DatabasePlan): DatabasePlan {
  const events = plan.objects.filter((o) => o.kind === 'event trigger');
  if (events.length === 0) return plan;
  return {
    ...plan,
    objects: plan.objects.filter((o) => o.kind !== 'event trigger'),
    skipped: [
      ...plan.skipped,
      ...events.map((o) => ({
        kind: o.kind,
        name: o.name,
        reason: 'only a superuser can create event triggers, and the target role is not one',
      })),
    ],
  };
}
