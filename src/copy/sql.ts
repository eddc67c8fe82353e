/**
 * The catalog queries of the copy stage, each runnable by hand in psql. On the source they run inside the
 * exported snapshot, so they describe the database as of the slot's consistent point. Object ids come
 * back as text.
 */

/** Schemas dts never copies: the catalogs, TOAST and temp schemas, and its own `_dts`. */
const userSchema = (col: string) =>
  `${col} NOT IN ('pg_catalog', 'information_schema', '_dts') AND ${col} !~ '^pg_toast' AND ${col} !~ '^pg_temp_'`;

const notFromExtension = (oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid = 'pg_catalog.pg_class'::regclass
     AND x.objid = ${oid} AND x.deptype = 'e')`;

/** The source's encoding and block size: binary COPY needs equal encodings; ranges are in blocks. */
export const SERVER_FACTS = `
SELECT pg_catalog.current_setting('server_encoding') AS encoding,
       pg_catalog.current_setting('block_size')::int AS block_size`;

/** Ordinary and partitioned tables with their size (the main fork) and row estimate. */
export const TABLES = `
SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       CASE WHEN c.relispartition THEN
         (SELECT i.inhparent::text FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) END AS partition_of,
       pg_catalog.pg_relation_size(c.oid) AS bytes,
       c.reltuples::float8 AS reltuples
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND ${userSchema('n.nspname')} AND ${notFromExtension('c.oid')}
ORDER BY n.nspname, c.relname`;

/**
 * Every live column of those tables, with its type after peeling off domains (a domain over a domain
 * included): the binary-or-text decision is about the base type.
 */
export const COLUMNS = `
WITH RECURSIVE peel(type_oid, cur, depth) AS (
  SELECT t.oid, t.typbasetype, 1 FROM pg_catalog.pg_type t WHERE t.typtype = 'd'
  UNION ALL
  SELECT p.type_oid, t.typbasetype, p.depth + 1
  FROM peel p JOIN pg_catalog.pg_type t ON t.oid = p.cur WHERE t.typtype = 'd'
)
SELECT a.attrelid::text AS table_oid, a.attname AS name, a.atttypid::int8 AS type_oid,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name, a.attgenerated <> '' AS generated,
       b.oid::int8 AS base_oid, b.typtype::text AS base_kind,
       (b.typsend::oid <> 0 AND b.typreceive::oid <> 0) AS base_binary_io
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (SELECT p.cur FROM peel p WHERE p.type_oid = a.atttypid ORDER BY p.depth DESC LIMIT 1) d
  ON true
JOIN pg_catalog.pg_type b ON b.oid = coalesce(d.cur, a.atttypid)
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND ${userSchema('n.nspname')}
ORDER BY a.attrelid, a.attnum`;

/** Sequences (identity ones too); their values are read one by one with SEQUENCE_VALUE. */
export const SEQUENCES = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND ${userSchema('n.nspname')} AND ${notFromExtension('c.oid')}
ORDER BY 1, 2`;

/** `last_value` as text: int8 must not go through a JS number. Takes the sequence's name quoted by quoteQualified. */
export const SEQUENCE_VALUE = (quotedName: string) =>
  `SELECT last_value::text AS last_value, is_called FROM ${quotedName}`;

/** Set on the target with the same is_called, so the next nextval() returns what it would have on the source. */
export const SET_SEQUENCE = `SELECT pg_catalog.setval($1::regclass, $2::int8, $3::bool)`;

/**
 * The same, `$4` increments further (the target's increment, which the schema stage copied from the source);
 * past the sequence's bounds it fails with PostgreSQL's own "out of bounds" error.
 */
export const SET_SEQUENCE_WITH_GAP = `
SELECT pg_catalog.setval($1::regclass, ($2::numeric + $4::numeric * s.seqincrement)::int8, $3::bool)
FROM pg_catalog.pg_sequence s WHERE s.seqrelid = $1::regclass`;

/** Materialized views and whether they hold rows; only populated ones are refreshed on the target. */
export const MATERIALIZED_VIEWS = `
SELECT n.nspname AS schema, c.relname AS name, c.relispopulated AS populated
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' AND ${userSchema('n.nspname')} AND ${notFromExtension('c.oid')}
ORDER BY 1, 2`;

/** Large objects with owner, ACL (NULL: default privileges) and comment. */
export const LARGE_OBJECTS = `
SELECT m.oid::text AS oid, pg_catalog.pg_get_userbyid(m.lomowner) AS owner, m.lomacl IS NULL AS default_acl,
       coalesce((SELECT json_agg(json_build_object('grantee', coalesce(r.rolname, ''),
                   'privilege', a.privilege_type, 'grantable', a.is_grantable) ORDER BY a.n)
                 FROM pg_catalog.aclexplode(m.lomacl) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, n)
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
                 WHERE a.grantee <> m.lomowner), '[]'::json) AS grants,
       pg_catalog.obj_description(m.oid, 'pg_largeobject') AS comment
FROM pg_catalog.pg_largeobject_metadata m
ORDER BY m.oid`;

/** One chunk of a large object, read through the transaction's snapshot. */
export const LARGE_OBJECT_CHUNK = `SELECT pg_catalog.lo_get($1::oid, $2::int8, $3::int4) AS data`;

/** A large object on the target is replaced, not merged, when a load is run again. */
export const LARGE_OBJECT_RECREATE = `
SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = $1::oid`;
export const LARGE_OBJECT_CREATE = `SELECT pg_catalog.lo_create($1::oid)`;
export const LARGE_OBJECT_WRITE = `SELECT pg_catalog.lo_put($1::oid, $2::int8, $3::bytea)`;

/** Roles of the target, to leave out owners and grantees it lacks. */
export const TARGET_ROLES = `SELECT rolname FROM pg_catalog.pg_roles`;
