import type {
  CollationDef,
  CollationRef,
  ExtensionDef,
  SchemaDef,
  SequenceDef,
  SequenceOptions,
  TypeDef,
} from '../../catalog/schema/types.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../../pg/quote.js';
import type { DdlContext } from './context.js';
import { commentOn, grantsOn, ownerTo } from './privileges.js';

export const collate = (c: CollationRef | undefined): string =>
  c === undefined ? '' : ` COLLATE ${quoteQualified(c.schema, c.name)}`;

/** A schema; `IF NOT EXISTS` because `public` (and others) may already be there on the target. */
export function schemaDdl(s: SchemaDef, ctx: DdlContext): string[] {
  const ref = `SCHEMA ${quoteIdent(s.name)}`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.name)}`,
    ...ownerTo(ref, s.owner, ctx.roles),
    ...grantsOn(ref, s.owner, s.acl, ctx.roles),
    ...commentOn(ref, ctx.comment(s.key)),
  ];
}

/**
 * An extension at the target's default version for it (the source's version may not be installable there);
 * `IF NOT EXISTS` because some (plpgsql) come with every database.
 */
export function extensionDdl(e: ExtensionDef, ctx: DdlContext): string[] {
  return [
    `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)}`,
    ...commentOn(`EXTENSION ${quoteIdent(e.name)}`, ctx.comment(e.key)),
  ];
}

export function collationDdl(c: CollationDef, ctx: DdlContext): string[] {
  const name = quoteQualified(c.schema, c.name);
  const options = [`provider = ${c.provider}`];
  if (c.locale !== undefined) options.push(`locale = ${quoteLiteral(c.locale)}`);
  if (c.collate !== undefined) options.push(`lc_collate = ${quoteLiteral(c.collate)}`);
  if (c.ctype !== undefined) options.push(`lc_ctype = ${quoteLiteral(c.ctype)}`);
  if (!c.deterministic) options.push('deterministic = false');
  return [
    `CREATE COLLATION ${name} (${options.join(', ')})`,
    ...ownerTo(`COLLATION ${name}`, c.owner, ctx.roles),
    ...commentOn(`COLLATION ${name}`, ctx.comment(c.key)),
  ];
}

/** The part of CREATE SEQUENCE / an identity column after the name. */
export function sequenceOptions(o: SequenceOptions, withType: boolean): string {
  return [
    ...(withType ? [`AS ${o.dataType}`] : []),
    `START WITH ${o.start}`,
    `INCREMENT BY ${o.increment}`,
    `MINVALUE ${o.min}`,
    `MAXVALUE ${o.max}`,
    `CACHE ${o.cache}`,
    o.cycle ? 'CYCLE' : 'NO CYCLE',
  ].join(' ');
}

export function sequenceDdl(s: SequenceDef, ctx: DdlContext): string[] {
  const name = quoteQualified(s.schema, s.name);
  return [
    `CREATE SEQUENCE ${name} ${sequenceOptions(s.options, true)}`,
    ...ownerTo(`SEQUENCE ${name}`, s.owner, ctx.roles),
    ...grantsOn(`SEQUENCE ${name}`, s.owner, s.acl, ctx.roles),
    ...commentOn(`SEQUENCE ${name}`, ctx.comment(s.key)),
  ];
}

/** `ALTER SEQUENCE ... OWNED BY`: after the tables, since the sequence is usually in their defaults. */
export function sequenceOwnedByDdl(s: SequenceDef, ctx: DdlContext): string[] {
  const table = s.ownedBy && ctx.table(s.ownedBy.tableKey);
  if (!s.ownedBy || !table) return [];
  return [
    `ALTER SEQUENCE ${quoteQualified(s.schema, s.name)} OWNED BY ${quoteQualified(table.schema, table.name)}.${quoteIdent(s.ownedBy.column)}`,
  ];
}

/** How ALTER / COMMENT / GRANT spell a type: domains are DOMAIN, the rest TYPE. */
export function typeRef(t: TypeDef): string {
  return `${t.kind === 'domain' ? 'DOMAIN' : 'TYPE'} ${quoteQualified(t.schema, t.name)}`;
}

export function typeDdl(t: TypeDef, ctx: DdlContext): string[] {
  const name = quoteQualified(t.schema, t.name);
  const out: string[] = [];
  switch (t.kind) {
    case 'enum':
      out.push(`CREATE TYPE ${name} AS ENUM (${t.labels.map(quoteLiteral).join(', ')})`);
      break;
    case 'composite':
      out.push(
        `CREATE TYPE ${name} AS (${t.attributes
          .map((a) => `${quoteIdent(a.name)} ${a.type}${collate(a.collation)}`)
          .join(', ')})`,
      );
      break;
    case 'range': {
      const o = [`SUBTYPE = ${t.subtype}`];
      if (t.subtypeOpclass) o.push(`SUBTYPE_OPCLASS = ${t.subtypeOpclass}`);
      if (t.collation) o.push(`COLLATION = ${quoteQualified(t.collation.schema, t.collation.name)}`);
      if (t.canonical) o.push(`CANONICAL = ${t.canonical}`);
      if (t.subtypeDiff) o.push(`SUBTYPE_DIFF = ${t.subtypeDiff}`);
      if (t.multirange)
        o.push(`MULTIRANGE_TYPE_NAME = ${quoteQualified(t.multirange.schema, t.multirange.name)}`);
      out.push(`CREATE TYPE ${name} AS RANGE (${o.join(', ')})`);
      break;
    }
    case 'domain': {
      let sql = `CREATE DOMAIN ${name} AS ${t.baseType}${collate(t.collation)}`;
      if (t.default !== undefined) sql += ` DEFAULT ${t.default}`;
      if (t.notNull) sql += ' NOT NULL';
      for (const c of t.constraints.filter((c) => c.validated))
        sql += ` CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`;
      out.push(sql);
      for (const c of t.constraints.filter((c) => !c.validated))
        out.push(`ALTER DOMAIN ${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition} NOT VALID`);
      for (const c of t.constraints)
        out.push(...commentOn(`CONSTRAINT ${quoteIdent(c.name)} ON DOMAIN ${name}`, ctx.comment(c.key)));
      break;
    }
  }
  const ref = typeRef(t);
  out.push(...ownerTo(ref, t.owner, ctx.roles));
  out.push(...grantsOn(ref, t.owner, t.acl, ctx.roles));
  out.push(...commentOn(ref, ctx.comment(t.key)));
  if (t.kind === 'composite') {
    for (const a of t.attributes)
      out.push(...commentOn(`COLUMN ${name}.${quoteIdent(a.name)}`, ctx.comment(t.relationKey, a.position)));
  }
  return out;
}
