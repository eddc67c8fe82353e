import { openSession, type TestServer } from './pg-server.js';

/**
 * A normalised description of every user object in one database, from catalog queries written
 * independently of src/catalog/schema (so a bug there cannot hide itself). Taken on the source and the
 * target and compared with toEqual, it proves a schema migration lost or changed nothing, across major
 * versions too.
 *
 * Only what must differ between versions is normalised:
 * - PostgreSQL 18 stores NOT NULL as pg_constraint rows (contype 'n'); they are left out here and NOT NULL
 *   is compared through attnotnull on every version.
 * - the collation locale moved from collcollate (<= 14) to colliculocale (15-16) and colllocale (17+).
 * - extension versions are those the target's packages ship; only the name and schema are compared.
 * - view definitions lose their `table.` column qualifiers (PostgreSQL 16 stopped printing them).
 * - a partition's clone of its parent's trigger is internal up to 14 and visible from 15 (tgparentid):
 *   clones are left out; the parent's trigger is compared.
 * - connoinherit is compared for check constraints only: on a key it means nothing, and a partition's key
 *   attached with ALTER INDEX ... ATTACH PARTITION (as pg_dump and dts create it) has it set from 17 on.
 * - object ids, and anything derived from them, never appear.
 * Everything else (pg_get_*def output, format_type, ACLs, owners, comments) is compared as the server
 * prints it; where a newer server prints the same definition differently, the test says so.
 */
export type Fingerprint = Record<string, Record<string, unknown>>;

const USER = (col: string) =>
  `${col} NOT IN ('pg_catalog', 'information_schema', '_dts') AND ${col} !~ '^pg_(toast|temp_)'`;
const NOT_EXT = (cat: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '${cat}'::regclass AND xd.objid = ${oid} AND xd.deptype = 'e')`;
const ACL = (col: string) => `(SELECT array_agg(x ORDER BY x) FROM (
  SELECT coalesce(r.rolname, 'PUBLIC') || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END AS x
  FROM aclexplode(${col}) a LEFT JOIN pg_roles r ON r.oid = a.grantee) acl)`;
const COMMENT = (cat: string, oid: string, sub = '0') =>
  `(SELECT d.description FROM pg_description d WHERE d.classoid = '${cat}'::regclass AND d.objoid = ${oid} AND d.objsubid = ${sub})`;

function queries(v: number): Record<string, string> {
  const gen = v >= 120000 ? 'a.attgenerated' : "''";
  const locale =
    v >= 170000
      ? 'c.colllocale'
      : v >= 150000
        ? 'c.colliculocale'
        : `CASE WHEN c.collprovider = 'i' THEN c.collcollate END`;
  return {
    schemas: `SELECT n.nspname AS k, pg_get_userbyid(n.nspowner) AS owner, ${ACL('n.nspacl')} AS acl,
                ${COMMENT('pg_namespace', 'n.oid')} AS comment
              FROM pg_namespace n WHERE ${USER('n.nspname')} AND ${NOT_EXT('pg_namespace', 'n.oid')}`,
    extensions: `SELECT e.extname AS k, n.nspname AS schema, ${COMMENT('pg_extension', 'e.oid')} AS comment
                 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
    collations: `SELECT n.nspname || '.' || c.collname AS k, c.collprovider AS provider, ${locale} AS locale,
                   ${v >= 120000 ? 'c.collisdeterministic' : 'true'} AS deterministic,
                   CASE WHEN c.collprovider = 'c' THEN c.collcollate END AS collate,
                   pg_get_userbyid(c.collowner) AS owner, ${COMMENT('pg_collation', 'c.oid')} AS comment
                 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
                 WHERE ${USER('n.nspname')} AND ${NOT_EXT('pg_collation', 'c.oid')}`,
    types: `SELECT t.typname::text AS name, n.nspname || '.' || t.typname AS k, t.typtype AS kind,
              pg_get_userbyid(t.typowner) AS owner, ${ACL('t.typacl')} AS acl, ${COMMENT('pg_type', 't.oid')} AS comment,
              (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels,
              CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
              t.typnotnull AS not_null, t.typdefault AS default, t.typcollation::regcollation::text AS collation,
              (SELECT array_agg(co.conname || ' ' || pg_get_constraintdef(co.oid) ORDER BY co.conname)
                 FROM pg_constraint co WHERE co.contypid = t.oid AND co.contype <> 'n') AS constraints,
              (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attcollation::regcollation::text ORDER BY a.attnum)
                 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attributes,
              (SELECT array_agg(d.description ORDER BY d.objsubid) FROM pg_description d
                 WHERE d.classoid = 'pg_class'::regclass AND d.objoid = t.typrelid AND t.typrelid <> 0) AS attribute_comments,
              (SELECT format_type(r.rngsubtype, NULL) || ' ' || (SELECT o.opcname::text FROM pg_opclass o WHERE o.oid = r.rngsubopc) || ' ' || r.rngcollation::regcollation::text
                 || ' ' || r.rngcanonical::text || ' ' || r.rngsubdiff::text FROM pg_range r WHERE r.rngtypid = t.oid) AS range
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype IN ('e', 'd', 'c', 'r', 'm') AND ${USER('n.nspname')} AND ${NOT_EXT('pg_type', 't.oid')}
              AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')`,
    sequences: `SELECT n.nspname || '.' || c.relname AS k, format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
                  s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache,
                  s.seqcycle AS cycle, pg_get_userbyid(c.relowner) AS owner, ${ACL('c.relacl')} AS acl,
                  ${COMMENT('pg_class', 'c.oid')} AS comment,
                  (SELECT d.refobjid::regclass::text || '.' || a.attname || ' ' || d.deptype::text FROM pg_depend d
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                     AND d.deptype IN ('a', 'i')) AS owned_by
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
                WHERE ${USER('n.nspname')} AND ${NOT_EXT('pg_class', 'c.oid')}`,
    relations: `SELECT n.nspname || '.' || c.relname AS k, c.relkind AS kind, c.relpersistence AS persistence,
                  c.reloptions AS options, pg_get_userbyid(c.relowner) AS owner, ${ACL('c.relacl')} AS acl,
                  ${COMMENT('pg_class', 'c.oid')} AS comment,
                  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
                  CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
                  (SELECT array_agg(i.inhparent::regclass::text ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parents,
                  c.reloftype::regtype::text AS of_type, c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
                  c.relreplident AS replica_identity, c.relhasrules AS has_rules,
                  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view,
                  (SELECT array_agg(concat_ws(' ', a.attname, format_type(a.atttypid, a.atttypmod),
                      CASE WHEN a.attnotnull THEN 'NOT NULL' END, 'default=' || pg_get_expr(d.adbin, d.adrelid),
                      'collate=' || NULLIF(a.attcollation, 0)::regcollation::text, 'identity=' || NULLIF(a.attidentity::text, ''),
                      'generated=' || NULLIF(${gen}::text, ''), 'storage=' || a.attstorage::text,
                      ${v >= 140000 ? "'compression=' || NULLIF(a.attcompression::text, '')," : ''} 'local=' || a.attislocal,
                      'inh=' || a.attinhcount, 'acl=' || ${ACL('a.attacl')}::text,
                      'comment=' || ${COMMENT('pg_class', 'c.oid', 'a.attnum')}) ORDER BY a.attnum)
                   FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER('n.nspname')} AND ${NOT_EXT('pg_class', 'c.oid')}`,
    constraints: `SELECT co.conrelid::regclass::text || ' ' || co.conname AS k, co.contype AS type,
                    pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated, co.conislocal AS local,
                    co.coninhcount AS inherited, CASE WHEN co.contype = 'c' THEN co.connoinherit END AS no_inherit, co.condeferrable AS deferrable,
                    co.condeferred AS deferred, ${COMMENT('pg_constraint', 'co.oid')} AS comment,
                    ${v >= 110000 ? "(SELECT p.conrelid::regclass::text || ' ' || p.conname FROM pg_constraint p WHERE p.oid = co.conparentid)" : 'NULL'} AS parent,
                    (SELECT conindid::regclass::text WHERE co.contype IN ('p', 'u', 'x')) AS index
                  FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE co.contype <> 'n' AND ${USER('n.nspname')} AND ${NOT_EXT('pg_class', 'c.oid')}`,
    indexes: `SELECT i.indexrelid::regclass::text AS k, i.indrelid::regclass::text AS table, pg_get_indexdef(i.indexrelid) AS definition,
                i.indisprimary AS primary, i.indisunique AS unique, i.indisclustered AS clustered, i.indisreplident AS replica_identity,
                i.indisvalid AS valid, ${COMMENT('pg_class', 'i.indexrelid')} AS comment,
                (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) AS parent
              FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE ${USER('n.nspname')} AND ${NOT_EXT('pg_class', 'c.oid')} AND c.relkind <> 't'`,
    routines: `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS k,
                 ${v >= 110000 ? 'p.prokind' : `CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END`} AS kind,
                 pg_get_function_result(p.oid) AS result, pg_get_function_arguments(p.oid) AS arguments,
                 p.prosrc AS source, l.lanname AS language, p.provolatile AS volatility, p.proisstrict AS strict,
                 p.prosecdef AS security_definer, p.proleakproof AS leakproof, p.proparallel AS parallel, p.proconfig AS config,
                 p.procost AS cost, p.prorows AS rows, pg_get_userbyid(p.proowner) AS owner, ${ACL('p.proacl')} AS acl,
                 ${COMMENT('pg_proc', 'p.oid')} AS comment,
                 (SELECT array_agg(d.deptype::text || ' ' || d.refclassid::regclass::text ORDER BY 1) FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype NOT IN ('n', 'a')) AS pinned_by,
                 (SELECT concat_ws(' ', a.aggkind, a.aggnumdirectargs, a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                    a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn, a.aggfinalextra, a.aggmfinalextra,
                    a.aggsortop::regoperator, format_type(a.aggtranstype, NULL), a.aggtransspace, NULLIF(a.aggmtranstype, 0)::regtype,
                    a.aggmtransspace, a.agginitval, a.aggminitval) FROM pg_aggregate a WHERE a.aggfnoid = p.oid) AS aggregate
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
               WHERE ${USER('n.nspname')} AND ${NOT_EXT('pg_proc', 'p.oid')}`,
    triggers: `SELECT t.tgrelid::regclass::text || ' ' || t.tgname AS k, pg_get_triggerdef(t.oid) AS definition,
                 t.tgenabled AS enabled, ${COMMENT('pg_trigger', 't.oid')} AS comment
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE NOT t.tgisinternal ${v >= 130000 ? 'AND t.tgparentid = 0' : ''} AND ${USER('n.nspname')} AND ${NOT_EXT('pg_class', 'c.oid')}`,
    rules: `SELECT r.ev_class::regclass::text || ' ' || r.rulename AS k, pg_get_ruledef(r.oid) AS definition,
              r.ev_enabled AS enabled, ${COMMENT('pg_rewrite', 'r.oid')} AS comment
            FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE r.rulename <> '_RETURN' AND ${USER('n.nspname')} AND ${NOT_EXT('pg_class', 'c.oid')}`,
    policies: `SELECT p.schemaname || '.' || p.tablename || ' ' || p.policyname AS k, p.permissive, p.roles::text[] AS roles,
                 p.cmd, p.qual, p.with_check,
                 (SELECT d.description FROM pg_policy x JOIN pg_description d ON d.objoid = x.oid AND d.classoid = 'pg_policy'::regclass
                  WHERE x.polname = p.policyname AND x.polrelid = (quote_ident(p.schemaname) || '.' || quote_ident(p.tablename))::regclass) AS comment
               FROM pg_policies p WHERE ${USER('p.schemaname')}`,
    event_triggers: `SELECT e.evtname AS k, e.evtevent AS event, e.evtfoid::regproc::text AS function, e.evttags AS tags,
                       e.evtenabled AS enabled, pg_get_userbyid(e.evtowner) AS owner
                     FROM pg_event_trigger e WHERE ${NOT_EXT('pg_event_trigger', 'e.oid')}`,
    statistics: `SELECT n.nspname || '.' || s.stxname AS k, pg_get_statisticsobjdef(s.oid) AS definition,
                   pg_get_userbyid(s.stxowner) AS owner, ${COMMENT('pg_statistic_ext', 's.oid')} AS comment
                 FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
                 WHERE ${USER('n.nspname')} AND ${NOT_EXT('pg_statistic_ext', 's.oid')}`,
    default_privileges: `SELECT pg_get_userbyid(d.defaclrole) || ' ' || coalesce(n.nspname, '*') || ' ' || d.defaclobjtype::text AS k,
                           ${ACL('d.defaclacl')} AS acl
                         FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace`,
  };
}

/**
 * PostgreSQL 16 stopped prefixing column references in view definitions with their table's name when that
 * is unambiguous (`customers.id` became `id`). Dropping every `name.` qualifier on both sides makes the
 * texts comparable; it is symmetric, so a real difference in the query still shows.
 */
function unqualified(definition: string): string {
  return definition.replace(/(?:"(?:[^"]|"")+"|[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_$\u00C0-\uFFFF]*)\./g, '');
}

/** Which kind an entry of `relations` or `types` counts as, for per-kind counts. */
const RELATION_KINDS: Record<string, string> = {
  r: 'tables',
  p: 'partitioned tables',
  v: 'views',
  m: 'materialized views',
  f: 'foreign tables',
};
const TYPE_KINDS: Record<string, string> = {
  e: 'enums',
  d: 'domains',
  c: 'composite types',
  r: 'range types',
  m: 'multiranges',
};
const ROUTINE_KINDS: Record<string, string> = {
  f: 'functions',
  p: 'procedures',
  a: 'aggregates',
  w: 'window functions',
};
const CONSTRAINT_KINDS: Record<string, string> = {
  c: 'check constraints',
  p: 'primary keys',
  u: 'unique constraints',
  x: 'exclusion constraints',
  f: 'foreign keys',
  t: 'constraint triggers',
};

/** Take the fingerprint of `database` on `server`. */
export async function schemaFingerprint(server: TestServer, database: string): Promise<Fingerprint> {
  const client = await openSession(server, database);
  try {
    await client.query(`SELECT set_config('search_path', '', false)`);
    const v = Number((await client.query(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
    const out: Fingerprint = {};
    for (const [kind, sql] of Object.entries(queries(v))) {
      const { rows } = await client.query(sql);
      const entries: Record<string, unknown> = {};
      for (const { k, ...rest } of rows.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))) {
        if (kind === 'types') delete rest.name;
        if (kind === 'relations' && typeof rest.view === 'string') rest.view = unqualified(rest.view);
        entries[String(k)] = rest;
      }
      out[kind] = entries;
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Objects per kind (tables, views, enums, primary keys, ...): a migration that dropped a kind shows here. */
export function countByKind(f: Fingerprint): Record<string, number> {
  const counts: Record<string, number> = {};
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  for (const [kind, entries] of Object.entries(f)) {
    for (const e of Object.values(entries) as Record<string, unknown>[]) {
      if (kind === 'relations') bump(RELATION_KINDS[String(e.kind)] ?? `relkind ${e.kind}`);
      else if (kind === 'types') bump(TYPE_KINDS[String(e.kind)] ?? `typtype ${e.kind}`);
      else if (kind === 'routines') bump(ROUTINE_KINDS[String(e.kind)] ?? `prokind ${e.kind}`);
      else if (kind === 'constraints') bump(CONSTRAINT_KINDS[String(e.type)] ?? `contype ${e.type}`);
      else bump(kind);
      if (e.comment) bump('comments');
      if (Array.isArray(e.acl)) bump('objects with ACLs');
    }
  }
  return counts;
}
