import type {
  ConstraintDef,
  EventTriggerDef,
  IndexDef,
  PolicyDef,
  RuleDef,
  StatisticsDef,
  TableDef,
  TriggerDef,
} from '../../catalog/schema/types.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../../pg/quote.js';
import { bare, type DdlContext } from './context.js';
import { commentOn, ownerTo } from './privileges.js';
import { tableName } from './tables.js';

/**
 * A primary key, unique, exclusion or NOT VALID check constraint, or a foreign key.
 *
 * Keys go on ONLY the table, like pg_dump: a partitioned table's key is created on the parent alone and
 * each partition's own key is attached to it afterwards (indexAttachDdl), so the partitions keep their
 * names. A foreign key on a partitioned table cannot use ONLY; PostgreSQL adds it to every partition.
 * A NOT VALID check recurses to inheritance children, whose copies are not listed separately.
 */
export function constraintDdl(c: ConstraintDef, table: TableDef, ctx: DdlContext): string[] {
  const name = tableName(table);
  const only = c.type === 'check' ? c.noInherit : c.type === 'foreign-key' ? !table.partitioned : true;
  return [
    `ALTER TABLE ${only ? 'ONLY ' : ''}${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`,
    ...commentOn(`CONSTRAINT ${quoteIdent(c.name)} ON ${name}`, ctx.comment(c.key)),
  ];
}

export function indexDdl(i: IndexDef, ctx: DdlContext): string[] {
  return [bare(i.definition), ...commentOn(`INDEX ${quoteQualified(i.schema, i.name)}`, ctx.comment(i.key))];
}

/** A partition's index (or key's index) joins its parent's partitioned index. */
export function indexAttachDdl(parent: IndexDef, child: IndexDef): string[] {
  return [
    `ALTER INDEX ${quoteQualified(parent.schema, parent.name)} ATTACH PARTITION ${quoteQualified(child.schema, child.name)}`,
  ];
}

/** A table or view, by name. */
export interface Relation {
  readonly schema: string;
  readonly name: string;
}

const TRIGGER_STATE = { O: undefined, D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' } as const;

export function triggerDdl(t: TriggerDef, table: Relation, ctx: DdlContext): string[] {
  const name = tableName(table);
  const state = TRIGGER_STATE[t.enabled];
  return [
    bare(t.definition),
    ...(state ? [`ALTER TABLE ${name} ${state} TRIGGER ${quoteIdent(t.name)}`] : []),
    ...commentOn(`TRIGGER ${quoteIdent(t.name)} ON ${name}`, ctx.comment(t.key)),
  ];
}

export function ruleDdl(r: RuleDef, table: Relation, ctx: DdlContext): string[] {
  return [
    bare(r.definition),
    ...commentOn(`RULE ${quoteIdent(r.name)} ON ${tableName(table)}`, ctx.comment(r.key)),
  ];
}

/**
 * A policy. A role missing on the target (missingRoles: skip) is left out of TO; if none is left the
 * policy is not created at all, since an empty TO would mean PUBLIC.
 */
export function policyDdl(p: PolicyDef, table: TableDef, ctx: DdlContext): string[] {
  const roles: string[] = [];
  for (const r of p.roles) {
    if (r === '') roles.push('PUBLIC');
    else {
      const mapped = ctx.roles.resolve(r);
      if (mapped !== undefined) roles.push(quoteIdent(mapped));
    }
  }
  if (roles.length === 0) return [];
  const name = tableName(table);
  let sql = `CREATE POLICY ${quoteIdent(p.name)} ON ${name}`;
  if (!p.permissive) sql += ' AS RESTRICTIVE';
  sql += ` FOR ${p.command} TO ${roles.join(', ')}`;
  if (p.using !== undefined) sql += ` USING (${p.using})`;
  if (p.withCheck !== undefined) sql += ` WITH CHECK (${p.withCheck})`;
  return [sql, ...commentOn(`POLICY ${quoteIdent(p.name)} ON ${name}`, ctx.comment(p.key))];
}

/** Row-level security switches, replica identity and CLUSTER ON: table settings that need post-data objects. */
export function tableSettingsDdl(t: TableDef): string[] {
  const name = tableName(t);
  const out: string[] = [];
  if (t.rowSecurity) out.push(`ALTER TABLE ONLY ${name} ENABLE ROW LEVEL SECURITY`);
  if (t.forceRowSecurity) out.push(`ALTER TABLE ONLY ${name} FORCE ROW LEVEL SECURITY`);
  if (t.replicaIdentity === 'full') out.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY FULL`);
  if (t.replicaIdentity === 'nothing') out.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY NOTHING`);
  if (t.replicaIdentity === 'index' && t.replicaIdentityIndex)
    out.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY USING INDEX ${quoteIdent(t.replicaIdentityIndex)}`);
  if (t.clusterOn) out.push(`ALTER TABLE ONLY ${name} CLUSTER ON ${quoteIdent(t.clusterOn)}`);
  return out;
}

export function statisticsDdl(s: StatisticsDef, ctx: DdlContext): string[] {
  const name = quoteQualified(s.schema, s.name);
  return [
    bare(s.definition),
    ...ownerTo(`STATISTICS ${name}`, s.owner, ctx.roles),
    ...commentOn(`STATISTICS ${name}`, ctx.comment(s.key)),
  ];
}

const EVENT_TRIGGER_STATE = { O: undefined, D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' } as const;

export function eventTriggerDdl(e: EventTriggerDef, ctx: DdlContext): string[] {
  const name = quoteIdent(e.name);
  const when = e.tags.length ? ` WHEN TAG IN (${e.tags.map(quoteLiteral).join(', ')})` : '';
  const state = EVENT_TRIGGER_STATE[e.enabled];
  return [
    `CREATE EVENT TRIGGER ${name} ON ${quoteIdent(e.event)}${when} EXECUTE FUNCTION ${e.function}()`,
    ...(state ? [`ALTER EVENT TRIGGER ${name} ${state}`] : []),
    ...ownerTo(`EVENT TRIGGER ${name}`, e.owner, ctx.roles),
    ...commentOn(`EVENT TRIGGER ${name}`, ctx.comment(e.key)),
  ];
}
