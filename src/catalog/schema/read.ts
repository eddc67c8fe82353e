import type pg from 'pg';
import * as sql from './sql.js';
import type {
  Acl,
  AclEntry,
  AggregateDetails,
  CollationRef,
  Column,
  ConstraintType,
  SchemaCatalog,
  SequenceOptions,
  TableDef,
  TypeDef,
} from './types.js';

/** Anything that runs a query: a client inside the read transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

// Rows are loosely typed on purpose: they are mapped right here and nowhere else.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

const opt = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

function acl(v: unknown): Acl {
  if (v === null || v === undefined) return undefined;
  return (v as { grantee: string; privilege: string; grantable: boolean }[]).map((e): AclEntry => ({
    grantee: e.grantee,
    privilege: e.privilege,
    grantable: e.grantable,
  }));
}

function collation(r: Row, prefix = ''): CollationRef | undefined {
  const name = r[`${prefix}coll_name`];
  return name ? { schema: String(r[`${prefix}coll_schema`]), name: String(name) } : undefined;
}

const enabled = (v: string): 'O' | 'D' | 'R' | 'A' => (['O', 'D', 'R', 'A'].includes(v) ? v : 'O') as 'O';

const CONSTRAINT_TYPES: Record<string, ConstraintType> = {
  c: 'check',
  p: 'primary-key',
  u: 'unique',
  x: 'exclusion',
  f: 'foreign-key',
};

const POLICY_COMMANDS = { '*': 'ALL', r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE' } as const;

const DEFAULT_ACL_TYPES: Record<string, string> = {
  r: 'TABLES',
  S: 'SEQUENCES',
  f: 'FUNCTIONS',
  T: 'TYPES',
  n: 'SCHEMAS',
};

const sequenceOptions = (r: Row, prefix = ''): SequenceOptions => ({
  dataType: String(r[`${prefix}type`] ?? r[`${prefix}data_type`]),
  start: String(r[`${prefix}start`]),
  increment: String(r[`${prefix}increment`]),
  min: String(r[`${prefix}min`]),
  max: String(r[`${prefix}max`]),
  cache: String(r[`${prefix}cache`]),
  cycle: Boolean(r[`${prefix}cycle`]),
});

const FINAL_MODIFY: Record<string, string> = { r: 'READ_ONLY', s: 'SHAREABLE', w: 'READ_WRITE' };
const PARALLEL: Record<string, string> = { s: 'SAFE', r: 'RESTRICTED', u: 'UNSAFE' };

/** CREATE AGGREGATE's options, in the order pg_dump writes them, defaults left out. */
function aggregateDetails(r: Row): AggregateDetails {
  const o: [string, string][] = [];
  const add = (name: string, v: unknown) => {
    if (v !== null && v !== undefined) o.push([name, String(v)]);
  };
  const literal = (v: unknown) => (v === null || v === undefined ? undefined : quoteText(String(v)));
  add('SFUNC', r.sfunc);
  add('STYPE', r.stype);
  if (Number(r.sspace) > 0) add('SSPACE', r.sspace);
  add('INITCOND', literal(r.initcond));
  add('FINALFUNC', r.finalfunc);
  if (r.finalfunc_extra) add('FINALFUNC_EXTRA', 'true');
  const hypothetical = r.agg_kind === 'h';
  const defaultModify = r.agg_kind === 'n' ? 'r' : 'w';
  if (r.finalfunc && r.finalfunc_modify && r.finalfunc_modify !== defaultModify)
    add('FINALFUNC_MODIFY', FINAL_MODIFY[r.finalfunc_modify]);
  add('COMBINEFUNC', r.combinefunc);
  add('SERIALFUNC', r.serialfunc);
  add('DESERIALFUNC', r.deserialfunc);
  add('MSFUNC', r.msfunc);
  add('MINVFUNC', r.minvfunc);
  add('MSTYPE', r.mstype);
  if (Number(r.msspace) > 0) add('MSSPACE', r.msspace);
  add('MINITCOND', literal(r.minitcond));
  add('MFINALFUNC', r.mfinalfunc);
  if (r.mfinalfunc_extra) add('MFINALFUNC_EXTRA', 'true');
  if (r.mfinalfunc && r.mfinalfunc_modify && r.mfinalfunc_modify !== defaultModify)
    add('MFINALFUNC_MODIFY', FINAL_MODIFY[r.mfinalfunc_modify]);
  add('SORTOP', r.sortop);
  if (r.parallel && r.parallel !== 'u') add('PARALLEL', PARALLEL[r.parallel]);
  if (hypothetical) add('HYPOTHETICAL', 'true');
  return {
    arguments: String(r.args),
    kind: r.agg_kind === 'o' ? 'ordered-set' : hypothetical ? 'hypothetical' : 'normal',
    options: o,
  };
}

/** A text literal for CREATE AGGREGATE's INITCOND (the one value that must be written in the DDL). */
function quoteText(v: string): string {
  const escaped = v.replaceAll("'", "''");
  return v.includes('\\') ? `E'${escaped.replaceAll('\\', '\\\\')}'` : `'${escaped}'`;
}

/**
 * Read one database's schema. Run it inside a REPEATABLE READ transaction so every query sees the same
 * catalogs; it sets `search_path` to empty for the session so definitions come back fully qualified.
 */
export async function readSchemaCatalog(db: Queryable, versionNum: number): Promise<SchemaCatalog> {
  await db.query(sql.SET_SEARCH_PATH);
  const q = async (text: string): Promise<Row[]> => (await db.query(text)).rows as Row[];

  const [database] = await q(sql.DATABASE);
  if (!database) throw new Error('current_database() is not in pg_database');
  const schemas = await q(sql.SCHEMAS);
  const extensions = await q(sql.EXTENSIONS);
  const collations = await q(sql.collations(versionNum));
  const typeRows = await q(sql.types(versionNum));
  const domainConstraints = await q(sql.DOMAIN_CONSTRAINTS);
  const attributes = await q(sql.COMPOSITE_ATTRIBUTES);
  const sequences = await q(sql.SEQUENCES);
  const tableRows = await q(sql.TABLES);
  const columnRows = await q(sql.columns(versionNum));
  const views = await q(sql.VIEWS);
  const constraints = await q(sql.constraints(versionNum));
  const indexes = await q(sql.INDEXES);
  const routines = await q(sql.routines(versionNum));
  const triggers = await q(sql.triggers(versionNum));
  const rules = await q(sql.RULES);
  const policies = await q(sql.POLICIES);
  const eventTriggers = await q(sql.EVENT_TRIGGERS);
  const statistics = await q(sql.STATISTICS);
  const defaultPrivileges = await q(sql.DEFAULT_PRIVILEGES);
  const comments = await q(sql.COMMENTS);
  const dependencies = await q(sql.dependencies(versionNum));

  const cls = (oid: unknown) => `pg_class:${oid}`;
  const columnsByRel = new Map<string, Row[]>();
  for (const c of columnRows) {
    const list = columnsByRel.get(c.rel) ?? [];
    list.push(c);
    columnsByRel.set(c.rel, list);
  }

  const column = (c: Row): Column => ({
    position: Number(c.position),
    name: String(c.name),
    type: String(c.type),
    notNull: Boolean(c.not_null),
    default: opt(c.default_expr),
    collation: collation(c),
    identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by-default' : undefined,
    identitySequence: c.seq_name
      ? { schema: String(c.seq_schema), name: String(c.seq_name), options: sequenceOptions(c, 'seq_') }
      : undefined,
    generated: c.generated === 's' ? 'stored' : c.generated === 'v' ? 'virtual' : undefined,
    isLocal: Boolean(c.is_local),
    storage: c.storage
      ? ({ p: 'PLAIN', e: 'EXTERNAL', x: 'EXTENDED', m: 'MAIN' } as Record<string, string>)[c.storage]
      : undefined,
    compression: c.compression === 'p' ? 'pglz' : c.compression === 'l' ? 'lz4' : undefined,
    statistics: c.stattarget === null || c.stattarget === undefined ? undefined : Number(c.stattarget),
    acl: acl(c.acl),
  });

  const types: TypeDef[] = typeRows.map((t): TypeDef => {
    const base = {
      key: `pg_type:${t.oid}`,
      schema: String(t.schema),
      name: String(t.name),
      owner: String(t.owner),
      acl: acl(t.acl),
    };
    switch (t.typtype) {
      case 'e':
        return { ...base, kind: 'enum', labels: t.labels as string[] };
      case 'd':
        return {
          ...base,
          kind: 'domain',
          baseType: String(t.base_type),
          collation: collation(t),
          default: opt(t.default_expr),
          notNull: Boolean(t.not_null),
          constraints: domainConstraints
            .filter((c) => c.type_oid === t.oid)
            .map((c) => ({
              key: `pg_constraint:${c.oid}`,
              name: String(c.name),
              definition: String(c.definition).replace(/ NOT VALID$/, ''),
              validated: Boolean(c.validated),
            })),
        };
      case 'c':
        return {
          ...base,
          kind: 'composite',
          relationKey: cls(t.relid),
          attributes: attributes
            .filter((a) => a.type_oid === t.oid)
            .map((a) => ({
              position: Number(a.position),
              name: String(a.name),
              type: String(a.type),
              collation: collation(a),
            })),
        };
      default:
        return {
          ...base,
          kind: 'range',
          subtype: String(t.subtype),
          subtypeOpclass: opt(t.opclass),
          collation: collation(t, 'range_'),
          canonical: opt(t.canonical),
          subtypeDiff: opt(t.subdiff),
          multirange: t.multirange_name
            ? { schema: String(t.multirange_schema), name: String(t.multirange_name) }
            : undefined,
        };
    }
  });

  const tables: TableDef[] = tableRows.map((t): TableDef => {
    const parents = (t.parents as string[]).map(cls);
    const replident = String(t.replident);
    return {
      key: cls(t.oid),
      schema: String(t.schema),
      name: String(t.name),
      owner: String(t.owner),
      acl: acl(t.acl),
      partitioned: t.relkind === 'p',
      unlogged: t.persistence === 'u',
      options: t.options as string[],
      columns: (columnsByRel.get(t.oid) ?? []).map(column),
      partitionKey: opt(t.partition_key),
      partitionOf: t.is_partition ? { parentKey: parents[0]!, bound: String(t.bound) } : undefined,
      inherits: t.is_partition ? [] : parents,
      ofType: t.of_type ? `pg_type:${t.of_type}` : undefined,
      rowSecurity: Boolean(t.row_security),
      forceRowSecurity: Boolean(t.force_row_security),
      replicaIdentity:
        replident === 'f' ? 'full' : replident === 'n' ? 'nothing' : replident === 'i' ? 'index' : 'default',
      replicaIdentityIndex: opt(t.replident_index),
      clusterOn: opt(t.cluster_on),
    };
  });

  return {
    serverVersionNum: versionNum,
    database: {
      name: String(database.name),
      owner: String(database.owner),
      encoding: String(database.encoding),
      collate: String(database.collate),
      ctype: String(database.ctype),
      acl: acl(database.acl),
      comment: opt(database.comment),
    },
    schemas: schemas.map((s) => ({
      key: `pg_namespace:${s.oid}`,
      name: String(s.name),
      owner: String(s.owner),
      acl: acl(s.acl),
    })),
    extensions: extensions.map((e) => ({
      key: `pg_extension:${e.oid}`,
      name: String(e.name),
      schema: String(e.schema),
      version: String(e.version),
    })),
    collations: collations.map((c) => ({
      key: `pg_collation:${c.oid}`,
      schema: String(c.schema),
      name: String(c.name),
      owner: String(c.owner),
      provider: c.provider === 'i' ? 'icu' : c.provider === 'b' ? 'builtin' : 'libc',
      deterministic: Boolean(c.deterministic),
      locale: c.provider === 'c' ? undefined : opt(c.locale),
      collate: c.provider === 'c' ? opt(c.collate) : undefined,
      ctype: c.provider === 'c' ? opt(c.ctype) : undefined,
    })),
    types,
    sequences: sequences.map((s) => ({
      key: cls(s.oid),
      schema: String(s.schema),
      name: String(s.name),
      owner: String(s.owner),
      acl: acl(s.acl),
      options: sequenceOptions(s),
      ownedBy: s.owned_table ? { tableKey: cls(s.owned_table), column: String(s.owned_column) } : undefined,
    })),
    tables,
    views: views.map((v) => ({
      key: cls(v.oid),
      schema: String(v.schema),
      name: String(v.name),
      owner: String(v.owner),
      acl: acl(v.acl),
      materialized: Boolean(v.materialized),
      definition: String(v.definition),
      options: v.options as string[],
      columns: (columnsByRel.get(v.oid) ?? []).map((c) => ({
        position: Number(c.position),
        name: String(c.name),
        acl: acl(c.acl),
      })),
    })),
    routines: routines.map((r) => ({
      key: `pg_proc:${r.oid}`,
      schema: String(r.schema),
      name: String(r.name),
      owner: String(r.owner),
      acl: acl(r.acl),
      kind:
        r.kind === 'p' ? 'procedure' : r.kind === 'a' ? 'aggregate' : r.kind === 'w' ? 'window' : 'function',
      identityArguments: String(r.identity_args),
      definition: opt(r.definition),
      aggregate: r.kind === 'a' ? aggregateDetails(r) : undefined,
    })),
    constraints: constraints.map((c) => ({
      key: `pg_constraint:${c.oid}`,
      tableKey: cls(c.rel),
      name: String(c.name),
      type: CONSTRAINT_TYPES[c.contype]!,
      definition: String(c.definition),
      validated: Boolean(c.validated),
      isLocal: Boolean(c.is_local),
      noInherit: Boolean(c.no_inherit),
      parentKey: c.parent ? `pg_constraint:${c.parent}` : undefined,
      referencesKey: c.references_rel ? cls(c.references_rel) : undefined,
      indexKey: c.index ? cls(c.index) : undefined,
    })),
    indexes: indexes.map((i) => ({
      key: cls(i.oid),
      tableKey: cls(i.rel),
      schema: String(i.schema),
      name: String(i.name),
      definition: String(i.definition),
      constraintKey: i.constraint_oid ? `pg_constraint:${i.constraint_oid}` : undefined,
      parentKey: i.parent ? cls(i.parent) : undefined,
    })),
    triggers: triggers.map((t) => ({
      key: `pg_trigger:${t.oid}`,
      tableKey: cls(t.rel),
      name: String(t.name),
      definition: String(t.definition),
      enabled: enabled(t.enabled),
    })),
    rules: rules.map((r) => ({
      key: `pg_rewrite:${r.oid}`,
      tableKey: cls(r.rel),
      name: String(r.name),
      definition: String(r.definition),
    })),
    policies: policies.map((p) => ({
      key: `pg_policy:${p.oid}`,
      tableKey: cls(p.rel),
      name: String(p.name),
      permissive: Boolean(p.permissive),
      command: POLICY_COMMANDS[p.command as keyof typeof POLICY_COMMANDS] ?? 'ALL',
      roles: p.roles as string[],
      using: opt(p.using_expr),
      withCheck: opt(p.check_expr),
    })),
    eventTriggers: eventTriggers.map((e) => ({
      key: `pg_event_trigger:${e.oid}`,
      name: String(e.name),
      owner: String(e.owner),
      event: String(e.event),
      function: String(e.function),
      tags: e.tags as string[],
      enabled: enabled(e.enabled),
    })),
    statistics: statistics.map((s) => ({
      key: `pg_statistic_ext:${s.oid}`,
      tableKey: cls(s.rel),
      schema: String(s.schema),
      name: String(s.name),
      owner: String(s.owner),
      definition: String(s.definition),
    })),
    defaultPrivileges: defaultPrivileges
      .filter((d) => DEFAULT_ACL_TYPES[d.objtype])
      .map((d) => ({
        key: `pg_default_acl:${d.oid}`,
        role: String(d.role),
        schema: opt(d.schema),
        objectType: DEFAULT_ACL_TYPES[d.objtype]!,
        acl: acl(d.acl) ?? [],
      })),
    comments: comments.map((c) => ({
      key: `${c.catalog}:${c.oid}`,
      subId: Number(c.sub_id),
      text: String(c.text),
    })),
    dependencies: dependencies.map((d) => ({ from: String(d.from), to: String(d.to) })),
  };
}

/** The target's roles, for ownership and grants (options.missingRoles). */
export async function readRoleNames(db: Queryable): Promise<ReadonlySet<string>> {
  const { rows } = await db.query(sql.ROLE_NAMES);
  return new Set(rows.map((r: Row) => String(r.name)));
}

/** The databases that already exist on a server (to create the missing ones for `databases: all`). */
export async function readDatabaseNames(db: Queryable): Promise<ReadonlySet<string>> {
  const { rows } = await db.query(sql.DATABASE_NAMES);
  return new Set(rows.map((r: Row) => String(r.name)));
}
