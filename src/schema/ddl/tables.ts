import type { Column, ConstraintDef, TableDef, ViewDef } from '../../catalog/schema/types.js';
import { quoteIdent, quoteQualified } from '../../pg/quote.js';
import { bare, withOptions, type DdlContext } from './context.js';
import { columnGrants, commentOn, grantsOn, ownerTo } from './privileges.js';
import { collate, sequenceOptions } from './types.js';

export const tableName = (t: { schema: string; name: string }): string => quoteQualified(t.schema, t.name);

function columnDefinition(c: Column): string {
  let sql = `${quoteIdent(c.name)} ${c.type}${collate(c.collation)}`;
  if (c.generated !== undefined && c.default !== undefined)
    sql += ` GENERATED ALWAYS AS (${c.default})${c.generated === 'stored' ? ' STORED' : ''}`;
  else if (c.identity !== undefined) {
    sql += ` GENERATED ${c.identity === 'always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
    if (c.identitySequence) {
      const s = c.identitySequence;
      sql += ` (SEQUENCE NAME ${quoteQualified(s.schema, s.name)} ${sequenceOptions(s.options, false)})`;
    }
  } else if (c.default !== undefined) sql += ` DEFAULT ${c.default}`;
  if (c.notNull) sql += ' NOT NULL';
  return sql;
}

/** Checks created with the table: its own (not only inherited), validated ones; NOT VALID ones come after the data. */
export function isTableCheck(c: ConstraintDef): boolean {
  return c.type === 'check' && c.isLocal && c.validated;
}

/**
 * CREATE TABLE with what belongs to the rows' shape: columns, defaults, identity, generated columns,
 * collations, NOT NULL, checks, partitioning, inheritance, storage parameters, UNLOGGED. Keys, indexes,
 * foreign keys, triggers and policies are post-data.
 *
 * A partition is created with PARTITION OF (its columns come from the parent) and an inheritance child
 * lists only its own columns, so attislocal and the inherited constraints come out as on the source.
 */
export function tableDdl(t: TableDef, checks: readonly ConstraintDef[], ctx: DdlContext): string[] {
  const name = tableName(t);
  const checkLines = checks.map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`);
  const unlogged = t.unlogged ? 'UNLOGGED ' : '';
  const partitionBy = t.partitionKey ? ` PARTITION BY ${t.partitionKey}` : '';
  const parent = t.partitionOf ? ctx.table(t.partitionOf.parentKey) : undefined;
  const ofType = t.ofType ? ctx.type(t.ofType) : undefined;
  const out: string[] = [];
  /** Columns whose shape comes from elsewhere (parent, type): what differs is set afterwards. */
  const inheritedFrom = (c: Column): Column | undefined => {
    if (parent) return parent.columns.find((p) => p.name === c.name);
    for (const key of t.inherits) {
      const p = ctx.table(key)?.columns.find((p) => p.name === c.name);
      if (p) return p;
    }
    return undefined;
  };
  const fixups: string[] = [];
  const alterColumn = (c: Column, what: string) =>
    fixups.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(c.name)} ${what}`);

  if (parent || ofType) {
    const head = parent
      ? `CREATE ${unlogged}TABLE ${name} PARTITION OF ${tableName(parent)}`
      : `CREATE ${unlogged}TABLE ${name} OF ${quoteQualified(ofType!.schema, ofType!.name)}`;
    const tail = parent ? ` ${t.partitionOf!.bound}` : '';
    out.push(
      `${head}${checkLines.length ? ` (${checkLines.join(', ')})` : ''}${tail}${partitionBy}${withOptions(t.options)}`,
    );
    for (const c of t.columns) {
      const from = parent ? inheritedFrom(c) : undefined;
      if (c.default !== undefined && c.generated === undefined && c.default !== from?.default)
        alterColumn(c, `SET DEFAULT ${c.default}`);
      if (c.notNull && !from?.notNull) alterColumn(c, 'SET NOT NULL');
    }
  } else {
    const own = t.columns.filter((c) => c.isLocal || t.inherits.length === 0);
    const lines = [...own.map(columnDefinition), ...checkLines];
    const inherits = t.inherits
      .map((k) => ctx.table(k))
      .filter((p): p is TableDef => p !== undefined)
      .map(tableName);
    out.push(
      `CREATE ${unlogged}TABLE ${name} (${lines.length ? `\n    ${lines.join(',\n    ')}\n` : ''})` +
        `${inherits.length ? ` INHERITS (${inherits.join(', ')})` : ''}${partitionBy}${withOptions(t.options)}`,
    );
    for (const c of t.columns.filter((c) => !own.includes(c))) {
      const from = inheritedFrom(c);
      if (c.default !== undefined && c.generated === undefined && c.default !== from?.default)
        alterColumn(c, `SET DEFAULT ${c.default}`);
      if (c.notNull && !from?.notNull) alterColumn(c, 'SET NOT NULL');
    }
  }
  for (const c of t.columns) {
    if (c.storage) alterColumn(c, `SET STORAGE ${c.storage}`);
    if (c.compression) alterColumn(c, `SET COMPRESSION ${c.compression}`);
    if (c.statistics !== undefined) alterColumn(c, `SET STATISTICS ${c.statistics}`);
  }
  out.push(...fixups);
  return [...out, ...relationPrivileges('TABLE', t, t.columns, ctx)];
}

/** Owner, grants, column grants and comments of a table or view. */
function relationPrivileges(
  kind: 'TABLE' | 'VIEW' | 'MATERIALIZED VIEW',
  r: TableDef | ViewDef,
  columns: readonly { position: number; name: string; acl: Column['acl'] }[],
  ctx: DdlContext,
): string[] {
  const name = tableName(r);
  return [
    ...ownerTo(`${kind} ${name}`, r.owner, ctx.roles),
    ...grantsOn(`TABLE ${name}`, r.owner, r.acl, ctx.roles),
    ...columns.flatMap((c) => columnGrants(name, c.name, c.acl, ctx.roles)),
    ...commentOn(`${kind} ${name}`, ctx.comment(r.key)),
    ...columns.flatMap((c) =>
      commentOn(`COLUMN ${name}.${quoteIdent(c.name)}`, ctx.comment(r.key, c.position)),
    ),
  ];
}

/** A view, or a materialized view created empty (its rows are data: the copy stage refreshes it). */
export function viewDdl(v: ViewDef, ctx: DdlContext): string[] {
  const name = tableName(v);
  const kind = v.materialized ? 'MATERIALIZED VIEW' : 'VIEW';
  const create = `CREATE ${kind} ${name}${withOptions(v.options)} AS\n${bare(v.definition)}${
    v.materialized ? '\n  WITH NO DATA' : ''
  }`;
  return [create, ...relationPrivileges(kind, v, v.columns, ctx)];
}
