import { displayName } from '../catalog/display.js';
import { selectObjects, type DatabasePatterns } from '../catalog/selection.js';
import type { ConstraintDef, SchemaCatalog, TableDef, TypeDef } from '../catalog/schema/types.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import type { DdlContext } from './ddl/context.js';
import {
  constraintDdl,
  eventTriggerDdl,
  indexAttachDdl,
  indexDdl,
  policyDdl,
  ruleDdl,
  statisticsDdl,
  tableSettingsDdl,
  triggerDdl,
} from './ddl/post-data.js';
import { commentOn, defaultPrivileges, grantsOn, type Roles } from './ddl/privileges.js';
import { routineDdl } from './ddl/routines.js';
import { isTableCheck, tableDdl, viewDdl } from './ddl/tables.js';
import {
  collationDdl,
  extensionDdl,
  schemaDdl,
  sequenceDdl,
  sequenceOwnedByDdl,
  typeDdl,
} from './ddl/types.js';
import { topologicalOrder, type GraphNode } from './graph.js';

/** Pre-data: what must exist before rows are loaded. Post-data: keys, indexes, FKs, triggers, rules, policies. */
export type Phase = 'pre-data' | 'post-data';

export type ObjectKind =
  | 'database'
  | 'schema'
  | 'extension'
  | 'collation'
  | 'type'
  | 'domain'
  | 'sequence'
  | 'table'
  | 'view'
  | 'materialized view'
  | 'function'
  | 'procedure'
  | 'aggregate'
  | 'sequence ownership'
  | 'index'
  | 'constraint'
  | 'foreign key'
  | 'index attachment'
  | 'trigger'
  | 'rule'
  | 'policy'
  | 'table settings'
  | 'statistics'
  | 'event trigger'
  | 'default privileges';

/** One object to create: its statements run together, and fail or succeed together. */
export interface PlannedObject {
  /** Unique in the plan; the source catalog key where there is one. */
  readonly key: string;
  readonly kind: ObjectKind;
  /** For people: `app.customers`, `"Sales Ünïcode".orders_pkey on "Sales Ünïcode".orders`. */
  readonly name: string;
  readonly phase: Phase;
  readonly statements: readonly string[];
  /** Planned objects that must have been created first; when one failed, this one is skipped. */
  readonly requires: readonly string[];
  /**
   * For a key (primary, unique, exclusion) or an index: the source key of its table and the index
   * relation it builds. A full load builds these per table, as soon as the table's rows are in, and
   * finds out by that name whether an earlier run already did.
   */
  readonly builds?: { readonly tableKey: string; readonly schema: string; readonly name: string };
}

export interface SkippedObject {
  readonly kind: ObjectKind | 'role';
  readonly name: string;
  readonly reason: string;
}

export interface DatabasePlan {
  readonly source: string;
  readonly target: string;
  /** CREATE DATABASE, run before (and outside) the schema transaction, when the target lacks it. */
  readonly createDatabase: string | undefined;
  /** In execution order: all pre-data, then all post-data. */
  readonly objects: readonly PlannedObject[];
  readonly skipped: readonly SkippedObject[];
  readonly warnings: readonly string[];
}

/** How roles are carried over (task options) and which exist on the target (undefined: not known, e.g. dry run). */
export interface RolePolicy {
  readonly roleMap: Readonly<Record<string, string>>;
  readonly missingRoles: 'error' | 'skip';
  readonly targetRoles: ReadonlySet<string> | undefined;
}

export interface PlanInput {
  readonly catalog: SchemaCatalog;
  readonly patterns: DatabasePatterns;
  readonly targetDatabase: string;
  /** The target has no database of that name: create it (whole-instance tasks). */
  readonly createDatabase: boolean;
  readonly roles: RolePolicy;
}

export interface PlanResult {
  readonly plan: DatabasePlan;
  /** Roles the plan needs that the target lacks (when missingRoles is `error`, the caller refuses). */
  readonly missingRoles: readonly string[];
}

const RANK: Record<string, number> = {
  schema: 0,
  extension: 1,
  collation: 2,
  type: 3,
  domain: 3,
  function: 4,
  procedure: 4,
  aggregate: 5,
  sequence: 6,
  table: 7,
  view: 8,
  'materialized view': 9,
};

interface PreNode extends GraphNode {
  readonly kind: ObjectKind;
  readonly statements: readonly string[];
}

/** Role resolution that remembers what was missing. */
function roleResolver(policy: RolePolicy): Roles & { readonly missing: Set<string> } {
  const missing = new Set<string>();
  return {
    missing,
    resolve(source: string) {
      const target = policy.roleMap[source] ?? source;
      if (policy.targetRoles === undefined || policy.targetRoles.has(target)) return target;
      missing.add(target);
      return policy.missingRoles === 'skip' ? undefined : target;
    },
  };
}

/**
 * Plan one database's schema: which objects (the whole database, or the selected relations plus what they
 * need), in which order, with which statements. Pure: everything comes from `input`.
 */
export function planDatabase(input: PlanInput): PlanResult {
  const { catalog: cat } = input;
  const roles = roleResolver(input.roles);
  const comments = new Map(cat.comments.map((c) => [`${c.key}/${c.subId}`, c.text]));
  const tables = new Map(cat.tables.map((t) => [t.key, t]));
  const types = new Map<string, TypeDef>(cat.types.map((t) => [t.key, t]));
  const ctx: DdlContext = {
    roles,
    comment: (key, subId = 0) => comments.get(`${key}/${subId}`),
    table: (key) => tables.get(key),
    type: (key) => types.get(key),
  };
  const warnings: string[] = [];
  const skipped: SkippedObject[] = [];

  // Pre-data nodes: one per object, keyed by catalog key.
  const pre: PreNode[] = [];
  const add = (key: string, kind: ObjectKind, name: string, statements: string[]) =>
    pre.push({ key, kind, name, rank: RANK[kind] ?? 10, statements });
  for (const s of cat.schemas) add(s.key, 'schema', displayName(s.name), schemaDdl(s, ctx));
  for (const e of cat.extensions) add(e.key, 'extension', displayName(e.name), extensionDdl(e, ctx));
  for (const c of cat.collations)
    add(c.key, 'collation', displayName(c.schema, c.name), collationDdl(c, ctx));
  for (const t of cat.types)
    add(t.key, t.kind === 'domain' ? 'domain' : 'type', displayName(t.schema, t.name), typeDdl(t, ctx));
  for (const r of cat.routines) {
    const kind = r.kind === 'window' ? 'function' : r.kind;
    add(r.key, kind, `${displayName(r.schema, r.name)}(${r.identityArguments})`, routineDdl(r, ctx));
  }
  for (const s of cat.sequences) add(s.key, 'sequence', displayName(s.schema, s.name), sequenceDdl(s, ctx));
  const checksByTable = new Map<string, ConstraintDef[]>();
  for (const c of cat.constraints.filter(isTableCheck))
    checksByTable.set(c.tableKey, [...(checksByTable.get(c.tableKey) ?? []), c]);
  for (const t of cat.tables)
    add(t.key, 'table', displayName(t.schema, t.name), tableDdl(t, checksByTable.get(t.key) ?? [], ctx));
  for (const v of cat.views)
    add(v.key, v.materialized ? 'materialized view' : 'view', displayName(v.schema, v.name), viewDdl(v, ctx));

  // Dependencies between nodes. A check created with its table stands for the table; a sequence's
  // OWNED BY link to its table is applied after the tables, so it is not an ordering constraint.
  const alias = new Map<string, string>();
  for (const [tableKey, checks] of checksByTable) for (const c of checks) alias.set(c.key, tableKey);
  const sequenceKeys = new Set(cat.sequences.map((s) => s.key));
  const edges = cat.dependencies
    .map((d) => ({ from: alias.get(d.from) ?? d.from, to: alias.get(d.to) ?? d.to }))
    .filter((d) => !(sequenceKeys.has(d.from) && tables.has(d.to)));

  // Selection: everything, or the selected relations, their partitions and what they need.
  const whole = input.patterns.include.length === 0 && input.patterns.exclude.length === 0;
  const relations = [...cat.tables, ...cat.views, ...cat.sequences];
  let included: Set<string>;
  if (whole) included = new Set(pre.map((n) => n.key));
  else {
    const { selected } = selectObjects(relations, input.patterns);
    const start = new Set(selected.map((r) => r.key));
    // Partitions carry the parent's rows: a selected partitioned table brings all of them.
    let grew = true;
    while (grew) {
      grew = false;
      for (const t of cat.tables)
        if (t.partitionOf && start.has(t.partitionOf.parentKey) && !start.has(t.key)) {
          start.add(t.key);
          grew = true;
        }
    }
    // Post-data objects on selected tables need their functions too (trigger functions, policy expressions).
    // Foreign keys do not bring the tables they reference: those are skipped, and said so, below.
    const constraints = cat.constraints.filter((c) => c.type !== 'foreign-key');
    const attached = [...cat.triggers, ...cat.policies, ...cat.rules, ...constraints, ...cat.indexes]
      .filter((o) => start.has(o.tableKey))
      .map((o) => o.key);
    const needs = new Map<string, string[]>();
    for (const e of edges) needs.set(e.from, [...(needs.get(e.from) ?? []), e.to]);
    included = new Set();
    const stack = [...start, ...attached];
    const seen = new Set<string>();
    while (stack.length) {
      const k = stack.pop()!;
      if (seen.has(k)) continue;
      seen.add(k);
      included.add(k);
      for (const to of needs.get(k) ?? []) stack.push(to);
    }
    const brought = pre.filter(
      (n) => included.has(n.key) && relations.some((r) => r.key === n.key) && !start.has(n.key),
    );
    for (const n of brought)
      warnings.push(`${n.kind} ${n.name} is not selected but is needed, so it is created too`);
    if (pre.some((n) => included.has(n.key) && n.kind === 'function'))
      warnings.push(
        'functions come along where the selected tables use them (defaults, checks, triggers); what a function ' +
          'body refers to is not tracked by PostgreSQL (except SQL-standard bodies): check those objects are selected',
      );
  }

  const nodes = pre.filter((n) => included.has(n.key));
  const { order, cycles } = topologicalOrder(nodes, edges);
  if (cycles.length) {
    const byKey = new Map(nodes.map((n) => [n.key, n]));
    warnings.push(
      `dependency cycle: created early (may fail): ${cycles.map((k) => `${byKey.get(k)!.kind} ${byKey.get(k)!.name}`).join(', ')}`,
    );
  }
  const needsOf = new Map<string, Set<string>>();
  for (const e of edges) needsOf.set(e.from, (needsOf.get(e.from) ?? new Set()).add(e.to));
  const requires = (key: string) => [...(needsOf.get(key) ?? [])].filter((k) => included.has(k) && k !== key);
  const byKey = new Map(pre.map((n) => [n.key, n]));
  const objects: PlannedObject[] = order.map((key) => {
    const n = byKey.get(key)!;
    return {
      key,
      kind: n.kind,
      name: n.name,
      phase: 'pre-data',
      statements: n.statements,
      requires: requires(key),
    };
  });

  // Database-level comment and grants, for whole-database migrations.
  if (whole) {
    const ref = `DATABASE ${quoteIdent(input.targetDatabase)}`;
    const statements = [
      ...grantsOn(ref, cat.database.owner, cat.database.acl, roles),
      ...commentOn(ref, cat.database.comment),
    ];
    if (statements.length)
      objects.unshift({
        key: 'database',
        kind: 'database',
        name: displayName(input.targetDatabase),
        phase: 'pre-data',
        statements,
        requires: [],
      });
  }

  const tableIncluded = (key: string) => included.has(key) && tables.has(key);
  const postObject = (o: Omit<PlannedObject, 'phase'>) => {
    if (o.statements.length) objects.push({ ...o, phase: 'post-data' });
  };
  const on = (t: TableDef) => displayName(t.schema, t.name);

  for (const s of cat.sequences.filter((s) => included.has(s.key) && s.ownedBy)) {
    if (!tableIncluded(s.ownedBy!.tableKey)) continue;
    objects.push({
      key: `${s.key}/owned-by`,
      kind: 'sequence ownership',
      name: displayName(s.schema, s.name),
      phase: 'pre-data',
      statements: sequenceOwnedByDdl(s, ctx),
      requires: [s.key, s.ownedBy!.tableKey],
    });
  }

  // Post-data, in an order that always works: keys and indexes, attachments, foreign keys, NOT VALID
  // checks, triggers and rules, policies and table settings, statistics, event triggers, default privileges.
  const indexesByKey = new Map(cat.indexes.map((i) => [i.key, i]));
  for (const c of cat.constraints.filter((c) => ['primary-key', 'unique', 'exclusion'].includes(c.type))) {
    const t = tables.get(c.tableKey);
    if (!t || !tableIncluded(t.key)) continue;
    postObject({
      key: c.key,
      kind: 'constraint',
      name: `${displayName(c.name)} on ${on(t)}`,
      statements: constraintDdl(c, t, ctx),
      requires: [t.key],
      builds: { tableKey: t.key, schema: t.schema, name: c.name },
    });
  }
  for (const i of cat.indexes.filter((i) => i.constraintKey === undefined)) {
    const table = tables.get(i.tableKey);
    if (!included.has(i.tableKey)) continue;
    postObject({
      key: i.key,
      kind: 'index',
      name: `${displayName(i.schema, i.name)}${table ? ` on ${on(table)}` : ''}`,
      statements: indexDdl(i, ctx),
      requires: [i.tableKey],
      builds: { tableKey: i.tableKey, schema: i.schema, name: i.name },
    });
  }
  // A set, not objects.some(): this runs once per partition index, and big schemas have thousands.
  const keysSoFar = new Set(objects.map((o) => o.key));
  const planned = (key: string | undefined) => key !== undefined && keysSoFar.has(key);
  const createdBy = (i: { key: string; constraintKey: string | undefined }) => i.constraintKey ?? i.key;
  for (const child of cat.indexes.filter((i) => i.parentKey)) {
    const parent = indexesByKey.get(child.parentKey!);
    if (!parent || !planned(createdBy(parent)) || !planned(createdBy(child))) continue;
    postObject({
      key: `${child.key}/attach`,
      kind: 'index attachment',
      name: `${displayName(child.schema, child.name)} to ${displayName(parent.schema, parent.name)}`,
      statements: indexAttachDdl(parent, child),
      requires: [createdBy(parent), createdBy(child)],
    });
  }
  for (const c of cat.constraints.filter((c) => c.type === 'foreign-key' && c.parentKey === undefined)) {
    const t = tables.get(c.tableKey);
    if (!t || !tableIncluded(t.key)) continue;
    const ref = c.referencesKey ? tables.get(c.referencesKey) : undefined;
    if (!ref || !tableIncluded(ref.key)) {
      skipped.push({
        kind: 'foreign key',
        name: `${displayName(c.name)} on ${on(t)}`,
        reason: `it references ${ref ? on(ref) : 'a table'} that is not selected`,
      });
      continue;
    }
    postObject({
      key: c.key,
      kind: 'foreign key',
      name: `${displayName(c.name)} on ${on(t)}`,
      statements: constraintDdl(c, t, ctx),
      requires: [t.key, ref.key],
    });
  }
  for (const c of cat.constraints.filter((c) => c.type === 'check' && c.isLocal && !c.validated)) {
    const t = tables.get(c.tableKey);
    if (!t || !tableIncluded(t.key)) continue;
    postObject({
      key: c.key,
      kind: 'constraint',
      name: `${displayName(c.name)} on ${on(t)}`,
      statements: constraintDdl(c, t, ctx),
      requires: [t.key],
    });
  }
  const relationsByKey = new Map(relations.map((r) => [r.key, r]));
  for (const tr of cat.triggers) {
    const rel = relationsByKey.get(tr.tableKey);
    if (!rel || !included.has(rel.key)) continue;
    postObject({
      key: tr.key,
      kind: 'trigger',
      name: `${displayName(tr.name)} on ${displayName(rel.schema, rel.name)}`,
      statements: triggerDdl(tr, rel, ctx),
      requires: [rel.key, ...requires(tr.key)],
    });
  }
  const relationName = (key: string) => relationsByKey.get(key);
  for (const r of cat.rules) {
    const rel = relationName(r.tableKey);
    if (!rel || !included.has(r.tableKey)) continue;
    postObject({
      key: r.key,
      kind: 'rule',
      name: `${displayName(r.name)} on ${displayName(rel.schema, rel.name)}`,
      statements: ruleDdl(r, rel, ctx),
      requires: [r.tableKey],
    });
  }
  for (const p of cat.policies) {
    const t = tables.get(p.tableKey);
    if (!t || !tableIncluded(t.key)) continue;
    const statements = policyDdl(p, t, ctx);
    if (statements.length === 0) {
      skipped.push({
        kind: 'policy',
        name: `${displayName(p.name)} on ${on(t)}`,
        reason: 'none of its roles exists on the target',
      });
      continue;
    }
    postObject({
      key: p.key,
      kind: 'policy',
      name: `${displayName(p.name)} on ${on(t)}`,
      statements,
      requires: [t.key],
    });
  }
  for (const t of cat.tables.filter((t) => tableIncluded(t.key))) {
    const replicaIndex = cat.indexes.find((i) => i.tableKey === t.key && i.name === t.replicaIdentityIndex);
    postObject({
      key: `${t.key}/settings`,
      kind: 'table settings',
      name: on(t),
      statements: tableSettingsDdl(t),
      requires: [t.key, ...(replicaIndex ? [createdBy(replicaIndex)] : [])],
    });
  }
  for (const s of cat.statistics.filter((s) => included.has(s.tableKey))) {
    postObject({
      key: s.key,
      kind: 'statistics',
      name: displayName(s.schema, s.name),
      statements: statisticsDdl(s, ctx),
      requires: [s.tableKey],
    });
  }
  if (whole) {
    for (const e of cat.eventTriggers) {
      postObject({
        key: e.key,
        kind: 'event trigger',
        name: displayName(e.name),
        statements: eventTriggerDdl(e, ctx),
        requires: requires(e.key),
      });
    }
    for (const d of cat.defaultPrivileges) {
      postObject({
        key: d.key,
        kind: 'default privileges',
        name: `for ${displayName(d.role)}${d.schema ? ` in ${displayName(d.schema)}` : ''} on ${d.objectType.toLowerCase()}`,
        statements: defaultPrivileges(d.role, d.schema, d.objectType, d.acl, roles),
        requires: d.schema ? cat.schemas.filter((s) => s.name === d.schema).map((s) => s.key) : [],
      });
    }
  }
  // Requirements on objects outside the plan (not selected) are dropped; those are reported as skipped.
  const plannedKeys = new Set(objects.map((o) => o.key));
  const final = objects.map((o) => ({ ...o, requires: o.requires.filter((k) => plannedKeys.has(k)) }));

  for (const r of roles.missing)
    if (input.roles.missingRoles === 'skip')
      skipped.push({
        kind: 'role',
        name: displayName(r),
        reason: 'missing on the target: ownership and grants to it are left out (options.missingRoles: skip)',
      });

  const db = cat.database;
  const createDatabase = input.createDatabase
    ? `CREATE DATABASE ${quoteIdent(input.targetDatabase)}${
        roles.resolve(db.owner) !== undefined ? ` OWNER ${quoteIdent(roles.resolve(db.owner)!)}` : ''
      } TEMPLATE template0 ENCODING ${quoteLiteral(db.encoding)} LC_COLLATE ${quoteLiteral(db.collate)} LC_CTYPE ${quoteLiteral(db.ctype)}`
    : undefined;

  return {
    plan: {
      source: db.name,
      target: input.targetDatabase,
      createDatabase,
      objects: final,
      skipped,
      warnings,
    },
    missingRoles: [...roles.missing].sort(),
  };
}
