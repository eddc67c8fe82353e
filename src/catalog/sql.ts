/**
 * Every catalog query dts runs for its checks, named by purpose. Each runs as-is in psql (parameters as
 * $1) on PostgreSQL 10 and later; where catalogs differ by version the query has a version suffix and
 * the reader picks it by server_version_num.
 */

/** Schemas dts never reads, as a SQL condition on a pg_namespace alias `n`. */
const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema', '_dts')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/** Not created by an extension (those come back with CREATE EXTENSION). */
const notExtensionMember = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

export const SERVER_INFO = `
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       current_database() AS database,
       coalesce((SELECT s.ssl FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()), false) AS encrypted,
       (SELECT s.version FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()) AS tls_version,
       pg_is_in_recovery() AS in_recovery,
       r.rolname AS role, r.rolsuper AS superuser, r.rolreplication AS replication, r.rolcreatedb AS createdb,
       ARRAY(SELECT c.rolname::text FROM pg_roles c
             WHERE c.rolname IN ('rds_replication', 'rds_superuser', 'azure_pg_admin', 'cloudsqlsuperuser', 'alloydbsuperuser')
               AND pg_has_role(c.oid, 'MEMBER')
             ORDER BY 1) AS cloud_roles
FROM pg_roles r WHERE r.rolname = current_user`;

export const SETTINGS = `SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])`;

export const DATABASES = `
SELECT datname AS name, datallowconn AS allow_connections, datistemplate AS is_template,
       pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype,
       has_database_privilege(oid, 'CREATE') AS can_create, has_database_privilege(oid, 'CONNECT') AS can_connect
FROM pg_database ORDER BY datname`;

export const ROLES = `SELECT rolname AS name FROM pg_roles ORDER BY 1`;

/**
 * Every role, with whether the connected role may give objects to it (ALTER ... OWNER TO, ALTER LARGE
 * OBJECT ... OWNER TO): its own, and those it is a member of; from 16 on the membership needs the SET
 * option. All of them for a superuser.
 */
export const ROLE_ACCESS = (versionNum: number) => `
SELECT rolname AS name, rolsuper AS superuser, pg_has_role(oid, '${versionNum >= 160000 ? 'SET' : 'MEMBER'}') AS ownable
FROM pg_roles ORDER BY 1`;

const slotsQuery = (walStatus: string) => `
SELECT slot_name AS name, slot_type AS type, active, database,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
                       restart_lsn)::int8 AS retained_bytes,
       ${walStatus} AS wal_status
FROM pg_replication_slots ORDER BY slot_name`;
export const REPLICATION_SLOTS_10 = slotsQuery('NULL::text');
/** wal_status exists from 13 on. */
export const REPLICATION_SLOTS_13 = slotsQuery('wal_status');

export const WAL_SENDERS_IN_USE = `SELECT count(*)::int AS n FROM pg_stat_replication`;

/** Other sessions with an open transaction, oldest first. backend_type exists from 10 on. */
export const OPEN_TRANSACTIONS = `
SELECT pid, datname AS database, usename AS user, state,
       extract(epoch FROM now() - xact_start)::int8 AS age_seconds
FROM pg_stat_activity
WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'
ORDER BY xact_start`;

export const PREPARED_TRANSACTIONS = `
SELECT gid, database, owner, extract(epoch FROM now() - prepared)::int8 AS age_seconds
FROM pg_prepared_xacts ORDER BY prepared`;

/** The generated-columns list; attgenerated exists from 12 on. */
const generatedColumns = (versionNum: number) =>
  versionNum >= 120000
    ? `ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
             ORDER BY a.attnum)`
    : `ARRAY[]::text[]`;

const relationsQuery = (versionNum: number) => `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       pg_get_userbyid(c.relowner) AS owner, c.relpersistence = 'u' AS unlogged, c.relreplident AS replident,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
       ARRAY(SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid AND NOT i.indisprimary
               AND i.indpred IS NULL AND i.indexprs IS NULL
               AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                               WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey) AND NOT a.attnotnull)
             ORDER BY 1) AS identity_candidates,
       ARRAY(SELECT r.rulename::text FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN'
             ORDER BY 1) AS rules,
       ARRAY(SELECT h.inhparent::int8 FROM pg_inherits h WHERE h.inhrelid = c.oid ORDER BY h.inhseqno) AS parents,
       c.relispartition AS is_partition,
       CASE WHEN c.relkind IN ('r', 'p', 'm', 'S') THEN pg_total_relation_size(c.oid) ELSE 0 END AS total_bytes,
       CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(c.oid, 'SELECT')
            ELSE has_table_privilege(c.oid, 'SELECT') END AS can_select,
       pg_has_role(c.relowner, 'USAGE') AS owned_by_me,
       ARRAY(SELECT t.tgname::text FROM pg_trigger t
             WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled = 'O' ORDER BY 1) AS origin_triggers,
       ARRAY(SELECT con.conname::text FROM pg_constraint con
             WHERE con.conrelid = c.oid AND con.contype = 'f'
               AND (con.confdeltype NOT IN ('a', 'r') OR con.confupdtype NOT IN ('a', 'r')) ORDER BY 1) AS acting_foreign_keys,
       ARRAY(SELECT DISTINCT pg_get_userbyid(a.grantee)::text FROM pg_catalog.aclexplode(c.relacl) a
             WHERE a.grantee <> 0 AND a.grantee <> c.relowner ORDER BY 1) AS grantees,
       ${generatedColumns(versionNum)} AS generated_columns,
       CASE WHEN c.relkind = 'S' THEN
         (SELECT d.refobjid::int8 FROM pg_depend d
          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
            AND d.deptype IN ('a', 'i') LIMIT 1) END AS owned_by_table,
       ARRAY(SELECT DISTINCT d.refobjid::int8 FROM pg_rewrite r
             JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
             WHERE r.ev_class = c.oid AND r.rulename = '_RETURN'
               AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid) AS depends_on
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND ${USER_SCHEMA}
  AND ${notExtensionMember('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname`;
export const RELATIONS_10 = relationsQuery(100000);
export const RELATIONS_12 = relationsQuery(120000);

export const SCHEMAS = `
SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner, has_schema_privilege(n.oid, 'USAGE') AS can_use,
       ARRAY(SELECT DISTINCT pg_get_userbyid(a.grantee)::text FROM pg_catalog.aclexplode(n.nspacl) a
             WHERE a.grantee <> 0 AND a.grantee <> n.nspowner ORDER BY 1) AS grantees
FROM pg_namespace n WHERE ${USER_SCHEMA} AND ${notExtensionMember('pg_namespace', 'n.oid')} ORDER BY 1`;

const foreignKeysQuery = (topLevelOnly: string) => `
SELECT con.conname AS name, con.conrelid::int8 AS table_oid, con.confrelid::int8 AS references_oid
FROM pg_constraint con WHERE con.contype = 'f' ${topLevelOnly} ORDER BY 1`;
export const FOREIGN_KEYS_10 = foreignKeysQuery('');
/** From 11 on, partitions carry clones of the parent's foreign keys (conparentid <> 0): count each once. */
export const FOREIGN_KEYS_11 = foreignKeysQuery('AND con.conparentid = 0');

export const LARGE_OBJECTS = `SELECT count(*)::int8 AS n FROM pg_largeobject_metadata`;

/** Large objects per owner: dts gives each copied one to its owner on the target. */
export const LARGE_OBJECT_OWNERS = `
SELECT pg_get_userbyid(lomowner) AS owner, count(*)::int8 AS n FROM pg_largeobject_metadata GROUP BY 1 ORDER BY 1`;

export const C_FUNCTIONS = `
SELECT format('%s.%s(%s)', quote_ident(n.nspname), quote_ident(p.proname), pg_get_function_identity_arguments(p.oid)) AS signature
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
WHERE l.lanname = 'c' AND ${USER_SCHEMA} AND ${notExtensionMember('pg_proc', 'p.oid')}
ORDER BY 1`;

export const EXTENSIONS = `SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY 1`;

export const PUBLICATIONS = `SELECT pubname AS name FROM pg_publication ORDER BY 1`;

/** Functions, indexes, triggers and types in user schemas, for name clashes with the target. */
export const NAMED_OBJECTS = `
SELECT 'function' AS kind, n.nspname AS schema, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS args, NULL::text AS table_name
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE ${USER_SCHEMA} AND ${notExtensionMember('pg_proc', 'p.oid')}
UNION ALL
SELECT 'index', n.nspname, ic.relname, NULL, c.relname
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE ${USER_SCHEMA} AND ${notExtensionMember('pg_class', 'c.oid')}
UNION ALL
SELECT 'trigger', n.nspname, t.tgname, NULL, c.relname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND ${USER_SCHEMA}
UNION ALL
SELECT 'type', n.nspname, t.typname, NULL, NULL
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE ${USER_SCHEMA} AND ${notExtensionMember('pg_type', 't.oid')}
  AND (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_class c WHERE c.oid = t.typrelid))
  AND NOT EXISTS (SELECT 1 FROM pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid)
ORDER BY 1, 2, 3`;

/** Relations of a target database: only names and kinds matter there. */
export const TARGET_RELATIONS = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND ${USER_SCHEMA}
ORDER BY 1, 2`;

export const AVAILABLE_EXTENSIONS = `
SELECT e.name, e.default_version,
       ARRAY(SELECT v.version::text FROM pg_available_extension_versions v WHERE v.name = e.name ORDER BY 1) AS versions
FROM pg_available_extensions e ORDER BY 1`;

/**
 * Whether the role may switch off triggers and foreign keys for replicated rows. Run inside a
 * transaction that is always rolled back; the SET fails with 42501 when it may not.
 */
export const SET_REPLICA_ROLE = `SET LOCAL session_replication_role = replica`;

export const IDENTIFY_SYSTEM = `IDENTIFY_SYSTEM`;
