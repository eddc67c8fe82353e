/**
 * The catalog queries behind schema migration, one per object kind, each runnable by hand in psql (after
 * `SET search_path = ''`, which makes every pg_get_*def() and format_type() output schema-qualified).
 * Queries that differ by server version are functions of `server_version_num`; PostgreSQL 10 is the oldest
 * source. Object ids come back as text: keys are `<catalog>:<oid>` strings everywhere downstream.
 */

/** Schemas dts never migrates: the catalogs, TOAST and temp schemas, and its own `_dts`. */
const userSchema = (col: string) =>
  `${col} NOT IN ('pg_catalog', 'information_schema', '_dts') AND ${col} !~ '^pg_toast' AND ${col} !~ '^pg_temp_'`;

/** Objects created by CREATE EXTENSION come with the extension on the target. */
const notFromExtension = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = 'pg_catalog.${catalog}'::regclass
     AND x.objid = ${oid} AND x.deptype = 'e')`;

/**
 * An ACL as JSON rows (grantee '' is PUBLIC) in the array's own order, so re-granting in that order gives
 * the same aclitem[]; NULL when the object has its default privileges.
 */
const aclJson = (col: string) => `CASE WHEN ${col} IS NULL THEN NULL ELSE
  (SELECT coalesce(json_agg(json_build_object('grantee', coalesce(r.rolname, ''), 'privilege', a.privilege_type,
     'grantable', a.is_grantable) ORDER BY a.n), '[]'::json)
   FROM pg_catalog.aclexplode(${col}) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, n)
   LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee) END`;

/** `coll_schema`, `coll_name` of a collation that differs from the type's default. */
const collationJoin = (alias: string, collation: string, typeDefault: string) => `
  LEFT JOIN pg_catalog.pg_collation ${alias} ON ${alias}.oid = ${collation} AND ${collation} <> ${typeDefault}
  LEFT JOIN pg_catalog.pg_namespace ${alias}n ON ${alias}n.oid = ${alias}.collnamespace`;

export const SET_SEARCH_PATH = `SELECT pg_catalog.set_config('search_path', '', false)`;

export const DATABASE = `
SELECT d.datname AS name, pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding,
       d.datcollate AS collate, d.datctype AS ctype, ${aclJson('d.datacl')} AS acl,
       shobj_description(d.oid, 'pg_database') AS comment
FROM pg_database d WHERE d.datname = current_database()`;

export const SCHEMAS = `
SELECT n.oid::text AS oid, n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner, ${aclJson('n.nspacl')} AS acl
FROM pg_namespace n
WHERE ${userSchema('n.nspname')} AND ${notFromExtension('pg_namespace', 'n.oid')}
ORDER BY n.nspname`;

export const EXTENSIONS = `
SELECT e.oid::text AS oid, e.extname AS name, n.nspname AS schema, e.extversion AS version
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
ORDER BY e.extname`;

/** Where a collation's locale lives moved twice: collcollate (10-14), colliculocale (15-16), colllocale (17+). */
export const collations = (versionNum: number) => `
SELECT c.oid::text AS oid, n.nspname AS schema, c.collname AS name, pg_get_userbyid(c.collowner) AS owner,
       c.collprovider AS provider,
       ${versionNum >= 120000 ? 'c.collisdeterministic' : 'true'} AS deterministic,
       ${
         versionNum >= 170000
           ? 'c.colllocale'
           : versionNum >= 150000
             ? 'c.colliculocale'
             : `CASE WHEN c.collprovider = 'i' THEN c.collcollate END`
       } AS locale,
       c.collcollate AS collate, c.collctype AS ctype
FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
WHERE ${userSchema('n.nspname')} AND ${notFromExtension('pg_collation', 'c.oid')}
ORDER BY n.nspname, c.collname`;

/** Enum, domain, composite and range types (multiranges come with their range). */
export const types = (versionNum: number) => `
SELECT t.oid::text AS oid, n.nspname AS schema, t.typname AS name, t.typtype AS typtype,
       pg_get_userbyid(t.typowner) AS owner, ${aclJson('t.typacl')} AS acl, t.typrelid::text AS relid,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typnotnull AS not_null,
       CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END AS default_expr,
       dc.collname AS coll_name, dcn.nspname AS coll_schema,
       format_type(r.rngsubtype, NULL) AS subtype,
       CASE WHEN NOT opc.opcdefault THEN quote_ident(opcn.nspname) || '.' || quote_ident(opc.opcname) END AS opclass,
       rc.collname AS range_coll_name, rcn.nspname AS range_coll_schema,
       CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::regproc::text END AS canonical,
       CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text END AS subdiff,
       ${versionNum >= 140000 ? 'mn.nspname' : 'NULL::name'} AS multirange_schema,
       ${versionNum >= 140000 ? 'mt.typname' : 'NULL::name'} AS multirange_name
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
${collationJoin('dc', 't.typcollation', 'coalesce(bt.typcollation, 0)')}
LEFT JOIN pg_range r ON r.rngtypid = t.oid
LEFT JOIN pg_type st ON st.oid = r.rngsubtype
LEFT JOIN pg_opclass opc ON opc.oid = r.rngsubopc
LEFT JOIN pg_namespace opcn ON opcn.oid = opc.opcnamespace
${collationJoin('rc', 'r.rngcollation', 'coalesce(st.typcollation, 0)')}
${
  versionNum >= 140000
    ? `LEFT JOIN pg_type mt ON mt.oid = r.rngmultitypid LEFT JOIN pg_namespace mn ON mn.oid = mt.typnamespace`
    : ''
}
WHERE t.typtype IN ('e', 'd', 'c', 'r')
  AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
  AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_type', 't.oid')}
ORDER BY n.nspname, t.typname`;

export const DOMAIN_CONSTRAINTS = `
SELECT co.oid::text AS oid, co.contypid::text AS type_oid, co.conname AS name,
       pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated
FROM pg_constraint co JOIN pg_type t ON t.oid = co.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE co.contypid <> 0 AND co.contype = 'c' AND ${userSchema('n.nspname')}
ORDER BY co.contypid, co.conname`;

export const COMPOSITE_ATTRIBUTES = `
SELECT t.oid::text AS type_oid, a.attnum AS position, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, ac.collname AS coll_name, acn.nspname AS coll_schema
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type at ON at.oid = a.atttypid
${collationJoin('ac', 'a.attcollation', 'at.typcollation')}
WHERE ${userSchema('n.nspname')}
ORDER BY t.oid, a.attnum`;

/** Sequences, without identity columns' own (those come with their column). */
export const SEQUENCES = `
SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, pg_get_userbyid(c.relowner) AS owner,
       ${aclJson('c.relacl')} AS acl, format_type(s.seqtypid, NULL) AS data_type, s.seqstart::text AS start,
       s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
       s.seqcache::text AS cache, s.seqcycle AS cycle,
       own.refobjid::text AS owned_table, own_a.attname AS owned_column
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN pg_depend own ON own.classid = 'pg_catalog.pg_class'::regclass AND own.objid = c.oid
  AND own.refclassid = 'pg_catalog.pg_class'::regclass AND own.deptype = 'a' AND own.refobjsubid > 0
LEFT JOIN pg_attribute own_a ON own_a.attrelid = own.refobjid AND own_a.attnum = own.refobjsubid
WHERE c.relkind = 'S' AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_catalog.pg_class'::regclass
                  AND i.objid = c.oid AND i.deptype = 'i')
ORDER BY n.nspname, c.relname`;

export const TABLES = `
SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS relkind,
       c.relpersistence AS persistence, pg_get_userbyid(c.relowner) AS owner, ${aclJson('c.relacl')} AS acl,
       coalesce(c.reloptions, '{}') || ARRAY(SELECT 'toast.' || o FROM unnest(tc.reloptions) o) AS options,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       c.relispartition AS is_partition,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
       ARRAY(SELECT i.inhparent::text FROM pg_inherits i WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parents,
       CASE WHEN c.reloftype <> 0 THEN c.reloftype::text END AS of_type,
       c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
       c.relreplident AS replident,
       (SELECT ic.relname FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
        WHERE x.indrelid = c.oid AND x.indisreplident) AS replident_index,
       (SELECT ic.relname FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
        WHERE x.indrelid = c.oid AND x.indisclustered) AS cluster_on
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
WHERE c.relkind IN ('r', 'p') AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname`;

/**
 * Columns of tables and views. attgenerated is 12+, `v` (virtual) 18+; attcompression 14+; attstattarget is
 * nullable from 17.
 */
export const columns = (versionNum: number) => `
SELECT a.attrelid::text AS rel, a.attnum AS position, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, a.attislocal AS is_local,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       ac.collname AS coll_name, acn.nspname AS coll_schema,
       a.attidentity AS identity, ${versionNum >= 120000 ? 'a.attgenerated' : "''"} AS generated,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END AS storage,
       ${versionNum >= 170000 ? 'a.attstattarget' : 'NULLIF(a.attstattarget, -1)'} AS stattarget,
       ${aclJson('a.attacl')} AS acl,
       ${versionNum >= 140000 ? "NULLIF(a.attcompression, '')" : 'NULL::"char"'} AS compression,
       sn.nspname AS seq_schema, sc.relname AS seq_name, format_type(s.seqtypid, NULL) AS seq_type,
       s.seqstart::text AS seq_start, s.seqincrement::text AS seq_increment, s.seqmin::text AS seq_min,
       s.seqmax::text AS seq_max, s.seqcache::text AS seq_cache, s.seqcycle AS seq_cycle
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
${collationJoin('ac', 'a.attcollation', 't.typcollation')}
LEFT JOIN pg_depend idd ON a.attidentity <> '' AND idd.classid = 'pg_catalog.pg_class'::regclass
  AND idd.refclassid = 'pg_catalog.pg_class'::regclass AND idd.refobjid = a.attrelid
  AND idd.refobjsubid = a.attnum AND idd.deptype = 'i'
LEFT JOIN pg_sequence s ON s.seqrelid = idd.objid
LEFT JOIN pg_class sc ON sc.oid = s.seqrelid
LEFT JOIN pg_namespace sn ON sn.oid = sc.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
  AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY a.attrelid, a.attnum`;

export const VIEWS = `
SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized,
       pg_get_viewdef(c.oid) AS definition, coalesce(c.reloptions, '{}') AS options,
       pg_get_userbyid(c.relowner) AS owner, ${aclJson('c.relacl')} AS acl
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname`;

/** Table constraints; conparentid (a partition's copy of its parent's) is 11+. NOT NULL rows (18) are columns. */
export const constraints = (versionNum: number) => `
SELECT co.oid::text AS oid, co.conrelid::text AS rel, co.conname AS name, co.contype AS contype,
       pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated, co.conislocal AS is_local,
       co.connoinherit AS no_inherit,
       ${versionNum >= 110000 ? 'NULLIF(co.conparentid, 0)::text' : 'NULL::text'} AS parent,
       NULLIF(co.confrelid, 0)::text AS references_rel,
       CASE WHEN co.contype IN ('p', 'u', 'x') THEN NULLIF(co.conindid, 0)::text END AS index
FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE co.contype IN ('c', 'p', 'u', 'x', 'f') AND c.relkind IN ('r', 'p')
  AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname, co.conname`;

export const INDEXES = `
SELECT i.indexrelid::text AS oid, i.indrelid::text AS rel, n.nspname AS schema, ic.relname AS name,
       pg_get_indexdef(i.indexrelid) AS definition,
       (SELECT co.oid::text FROM pg_constraint co WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
          AND co.contype IN ('p', 'u', 'x')) AS constraint_oid,
       (SELECT h.inhparent::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) AS parent
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY n.nspname, ic.relname`;

/** prokind is 11+; before it, proisagg / proiswindow. aggfinalmodify is 11+. */
export const routines = (versionNum: number) => {
  const kind =
    versionNum >= 110000
      ? 'p.prokind'
      : `CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END`;
  const fn = (col: string) => `CASE WHEN ${col} <> 0 THEN ${col}::regproc::text END`;
  return `
SELECT p.oid::text AS oid, n.nspname AS schema, p.proname AS name, ${kind} AS kind,
       pg_get_function_identity_arguments(p.oid) AS identity_args, pg_get_function_arguments(p.oid) AS args,
       CASE WHEN ${kind} <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       pg_get_userbyid(p.proowner) AS owner, ${aclJson('p.proacl')} AS acl, p.proparallel AS parallel,
       ag.aggkind AS agg_kind, ${fn('ag.aggtransfn')} AS sfunc, format_type(ag.aggtranstype, NULL) AS stype,
       ag.aggtransspace AS sspace, ${fn('ag.aggfinalfn')} AS finalfunc, ag.aggfinalextra AS finalfunc_extra,
       ${versionNum >= 110000 ? 'ag.aggfinalmodify' : 'NULL::"char"'} AS finalfunc_modify,
       ${fn('ag.aggcombinefn')} AS combinefunc, ${fn('ag.aggserialfn')} AS serialfunc,
       ${fn('ag.aggdeserialfn')} AS deserialfunc, ag.agginitval AS initcond,
       ${fn('ag.aggmtransfn')} AS msfunc, ${fn('ag.aggminvtransfn')} AS minvfunc,
       CASE WHEN ag.aggmtranstype <> 0 THEN format_type(ag.aggmtranstype, NULL) END AS mstype,
       ag.aggmtransspace AS msspace, ${fn('ag.aggmfinalfn')} AS mfinalfunc, ag.aggmfinalextra AS mfinalfunc_extra,
       ${versionNum >= 110000 ? 'ag.aggmfinalmodify' : 'NULL::"char"'} AS mfinalfunc_modify,
       ag.aggminitval AS minitcond,
       (SELECT 'OPERATOR(' || quote_ident(opn.nspname) || '.' || o.oprname || ')' FROM pg_operator o
        JOIN pg_namespace opn ON opn.oid = o.oprnamespace WHERE o.oid = ag.aggsortop) AS sortop
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
WHERE ${userSchema('n.nspname')} AND ${notFromExtension('pg_proc', 'p.oid')}
  -- range and multirange constructors come with their type
  AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_catalog.pg_proc'::regclass
                  AND i.objid = p.oid AND i.deptype = 'i')
ORDER BY n.nspname, p.proname, 5`;
};

/** User triggers; a partition's clone of its parent's trigger has tgparentid (13+; internal before). */
export const triggers = (versionNum: number) => `
SELECT t.oid::text AS oid, t.tgrelid::text AS rel, t.tgname AS name, pg_get_triggerdef(t.oid) AS definition,
       t.tgenabled AS enabled
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal ${versionNum >= 130000 ? 'AND t.tgparentid = 0' : ''}
  AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname, t.tgname`;

export const RULES = `
SELECT r.oid::text AS oid, r.ev_class::text AS rel, r.rulename AS name, pg_get_ruledef(r.oid) AS definition
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname, r.rulename`;

export const POLICIES = `
SELECT p.oid::text AS oid, p.polrelid::text AS rel, p.polname AS name, p.polpermissive AS permissive,
       p.polcmd AS command,
       ARRAY(SELECT CASE WHEN r = 0 THEN '' ELSE pg_get_userbyid(r)::text END FROM unnest(p.polroles) r
             ORDER BY 1) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr, pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${userSchema('n.nspname')} AND ${notFromExtension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname, p.polname`;

export const EVENT_TRIGGERS = `
SELECT e.oid::text AS oid, e.evtname AS name, pg_get_userbyid(e.evtowner) AS owner, e.evtevent AS event,
       e.evtfoid::regproc::text AS function, coalesce(e.evttags, '{}') AS tags, e.evtenabled AS enabled
FROM pg_event_trigger e
WHERE ${notFromExtension('pg_event_trigger', 'e.oid')}
ORDER BY e.evtname`;

export const STATISTICS = `
SELECT s.oid::text AS oid, s.stxrelid::text AS rel, n.nspname AS schema, s.stxname AS name,
       pg_get_userbyid(s.stxowner) AS owner, pg_get_statisticsobjdef(s.oid) AS definition
FROM pg_statistic_ext s
JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE ${userSchema('n.nspname')} AND ${notFromExtension('pg_statistic_ext', 's.oid')}
ORDER BY n.nspname, s.stxname`;

export const DEFAULT_PRIVILEGES = `
SELECT d.oid::text AS oid, pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema,
       d.defaclobjtype AS objtype, ${aclJson('d.defaclacl')} AS acl
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
ORDER BY 2, 3, 4`;

export const COMMENTS = `
SELECT replace(d.classoid::regclass::text, 'pg_catalog.', '') AS catalog, d.objoid::text AS oid, d.objsubid AS sub_id,
       d.description AS text
FROM pg_description d
WHERE d.objoid >= 16384 OR d.classoid = 'pg_catalog.pg_namespace'::regclass
ORDER BY 1, 2, 3`;

/**
 * What must exist before what, from pg_depend (normal and automatic dependencies between user objects).
 * Both ends are resolved to the object dts creates: a column default to its table, a view's rewrite rule to
 * the view, a domain constraint to the domain, a table's row type or an array type to the table or element
 * type, a composite type's relation to the type, a multirange to its range, an extension's member to the
 * extension. Function bodies are not tracked by PostgreSQL (except SQL-standard bodies, 14+).
 */
export const dependencies = (versionNum: number) => `
WITH dep AS (
  SELECT d.classid, d.objid, d.refclassid, d.refobjid FROM pg_depend d
  WHERE d.deptype IN ('n', 'a') AND d.objid >= 16384
    AND (d.refobjid >= 16384 OR d.refclassid = 'pg_catalog.pg_namespace'::regclass)
), ends AS (
  SELECT classid AS cls, objid AS oid FROM dep UNION SELECT refclassid, refobjid FROM dep
), resolved AS (
  SELECT e.cls, e.oid, coalesce(
    (SELECT 'pg_extension:' || x.refobjid FROM pg_depend x
     WHERE x.classid = e.cls AND x.objid = e.oid AND x.deptype = 'e' LIMIT 1),
    CASE e.cls
      WHEN 'pg_catalog.pg_attrdef'::regclass THEN
        (SELECT 'pg_class:' || a.adrelid FROM pg_attrdef a WHERE a.oid = e.oid)
      WHEN 'pg_catalog.pg_rewrite'::regclass THEN
        (SELECT CASE WHEN r.rulename = '_RETURN' THEN 'pg_class:' || r.ev_class ELSE 'pg_rewrite:' || r.oid END
         FROM pg_rewrite r WHERE r.oid = e.oid)
      WHEN 'pg_catalog.pg_constraint'::regclass THEN
        (SELECT CASE WHEN c.contypid <> 0 THEN 'pg_type:' || c.contypid ELSE 'pg_constraint:' || c.oid END
         FROM pg_constraint c WHERE c.oid = e.oid)
      WHEN 'pg_catalog.pg_class'::regclass THEN
        (SELECT CASE WHEN c.relkind = 'c' THEN 'pg_type:' || c.reltype ELSE 'pg_class:' || c.oid END
         FROM pg_class c WHERE c.oid = e.oid)
      WHEN 'pg_catalog.pg_type'::regclass THEN
        (SELECT CASE
           WHEN t.typrelid <> 0 AND rc.relkind <> 'c' THEN 'pg_class:' || t.typrelid
           WHEN et.oid IS NOT NULL AND et.typrelid <> 0 AND erc.relkind <> 'c' THEN 'pg_class:' || et.typrelid
           WHEN et.oid IS NOT NULL THEN 'pg_type:' || et.oid
           ${versionNum >= 140000 ? `WHEN t.typtype = 'm' THEN (SELECT 'pg_type:' || g.rngtypid FROM pg_range g WHERE g.rngmultitypid = t.oid)` : ''}
           ELSE 'pg_type:' || t.oid END
         FROM pg_type t
         LEFT JOIN pg_class rc ON rc.oid = t.typrelid
         LEFT JOIN pg_type et ON et.oid = t.typelem AND et.typarray = t.oid
         LEFT JOIN pg_class erc ON erc.oid = et.typrelid
         WHERE t.oid = e.oid)
      ELSE replace(e.cls::regclass::text, 'pg_catalog.', '') || ':' || e.oid
    END) AS key
  FROM ends e
)
SELECT DISTINCT o.key AS "from", r.key AS "to"
FROM dep d
JOIN resolved o ON o.cls = d.classid AND o.oid = d.objid
JOIN resolved r ON r.cls = d.refclassid AND r.oid = d.refobjid
WHERE o.key IS NOT NULL AND r.key IS NOT NULL AND o.key <> r.key
ORDER BY 1, 2`;

export const ROLE_NAMES = `SELECT rolname AS name FROM pg_catalog.pg_roles ORDER BY 1`;

export const DATABASE_NAMES = `SELECT datname AS name FROM pg_catalog.pg_database ORDER BY 1`;
