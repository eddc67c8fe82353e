/**
 * One database's schema as read from the source catalogs, mapped once into readonly domain types. DDL
 * generation (src/schema/) works only on these. Expressions and definitions are the server's own
 * `pg_get_*def()` / `format_type()` output, read with `search_path = ''` so every name in them is
 * schema-qualified and quoted by the server.
 *
 * Every object has a `key` (`<catalog>:<oid>`, e.g. `pg_class:16412`) that the dependency list refers to.
 */

/** One privilege on an object, as `aclexplode()` reports it. `grantee` is '' for PUBLIC. */
export interface AclEntry {
  readonly grantee: string;
  readonly privilege: string;
  readonly grantable: boolean;
}

/** `undefined`: the object has default privileges (no ACL); `[]`: everything was revoked. */
export type Acl = readonly AclEntry[] | undefined;

export interface Owned {
  readonly key: string;
  readonly owner: string;
  readonly acl: Acl;
}

export interface DatabaseDef {
  readonly name: string;
  readonly owner: string;
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
  readonly acl: Acl;
  readonly comment: string | undefined;
}

export interface SchemaDef extends Owned {
  readonly name: string;
}

export interface ExtensionDef {
  readonly key: string;
  readonly name: string;
  readonly schema: string;
  readonly version: string;
}

export interface CollationDef {
  readonly key: string;
  readonly schema: string;
  readonly name: string;
  readonly owner: string;
  /** `icu`, `libc` or `builtin` (18). */
  readonly provider: string;
  readonly deterministic: boolean;
  /** Set for ICU and builtin collations: the locale; libc ones have collate/ctype. */
  readonly locale: string | undefined;
  readonly collate: string | undefined;
  readonly ctype: string | undefined;
}

/** A collation other than the type's default: schema and name, for `COLLATE "s"."c"`. */
export interface CollationRef {
  readonly schema: string;
  readonly name: string;
}

export interface EnumType extends Owned {
  readonly kind: 'enum';
  readonly schema: string;
  readonly name: string;
  readonly labels: readonly string[];
}

export interface DomainConstraint {
  readonly key: string;
  readonly name: string;
  /** `CHECK (...)` as pg_get_constraintdef prints it (without NOT VALID). */
  readonly definition: string;
  readonly validated: boolean;
}

export interface DomainType extends Owned {
  readonly kind: 'domain';
  readonly schema: string;
  readonly name: string;
  readonly baseType: string;
  readonly collation: CollationRef | undefined;
  readonly default: string | undefined;
  readonly notNull: boolean;
  readonly constraints: readonly DomainConstraint[];
}

export interface CompositeAttribute {
  readonly position: number;
  readonly name: string;
  readonly type: string;
  readonly collation: CollationRef | undefined;
}

export interface CompositeType extends Owned {
  readonly kind: 'composite';
  readonly schema: string;
  readonly name: string;
  /** The pg_class key of the type's relation (comments on its attributes hang there). */
  readonly relationKey: string;
  readonly attributes: readonly CompositeAttribute[];
}

export interface RangeType extends Owned {
  readonly kind: 'range';
  readonly schema: string;
  readonly name: string;
  readonly subtype: string;
  /** Only when not the subtype's default operator class: qualified, server-quoted. */
  readonly subtypeOpclass: string | undefined;
  readonly collation: CollationRef | undefined;
  /** Server-quoted function names, when set. */
  readonly canonical: string | undefined;
  readonly subtypeDiff: string | undefined;
  /** PostgreSQL 14+: the multirange type's name, when not the default one. */
  readonly multirange: { readonly schema: string; readonly name: string } | undefined;
}

export type TypeDef = EnumType | DomainType | CompositeType | RangeType;

export interface SequenceOptions {
  readonly dataType: string;
  /** bigint values stay text: they can exceed Number.MAX_SAFE_INTEGER. */
  readonly start: string;
  readonly increment: string;
  readonly min: string;
  readonly max: string;
  readonly cache: string;
  readonly cycle: boolean;
}

export interface SequenceDef extends Owned {
  readonly schema: string;
  readonly name: string;
  readonly options: SequenceOptions;
  /** `OWNED BY`: the table key and column name. */
  readonly ownedBy: { readonly tableKey: string; readonly column: string } | undefined;
}

export interface Column {
  /** attnum: comments on columns refer to it. */
  readonly position: number;
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
  /** The default expression, or the generation expression when `generated` is set. */
  readonly default: string | undefined;
  readonly collation: CollationRef | undefined;
  readonly identity: 'always' | 'by-default' | undefined;
  /** The identity column's sequence (name and options). */
  readonly identitySequence:
    { readonly schema: string; readonly name: string; readonly options: SequenceOptions } | undefined;
  readonly generated: 'stored' | 'virtual' | undefined;
  /** Declared in this table (not only inherited from a parent). */
  readonly isLocal: boolean;
  /** `SET STORAGE` when it differs from the type's default: plain, external, extended, main. */
  readonly storage: string | undefined;
  /** `SET COMPRESSION` (PostgreSQL 14+) when not the default: pglz or lz4. */
  readonly compression: string | undefined;
  /** `SET STATISTICS` when set explicitly. */
  readonly statistics: number | undefined;
  readonly acl: Acl;
}

export interface TableDef extends Owned {
  readonly schema: string;
  readonly name: string;
  readonly partitioned: boolean;
  readonly unlogged: boolean;
  /** `fillfactor=90` style entries, table and `toast.` ones. */
  readonly options: readonly string[];
  readonly columns: readonly Column[];
  /** `RANGE (taken_at)` for a partitioned table. */
  readonly partitionKey: string | undefined;
  /** For a partition: the parent key and the bound (`FOR VALUES ...` or `DEFAULT`). */
  readonly partitionOf: { readonly parentKey: string; readonly bound: string } | undefined;
  /** Inheritance parents (not partitioning), in order. */
  readonly inherits: readonly string[];
  /** Typed table: the composite type's key. */
  readonly ofType: string | undefined;
  readonly rowSecurity: boolean;
  readonly forceRowSecurity: boolean;
  /** `d` default, `f` full, `n` nothing, `i` index (then `replicaIdentityIndex`). */
  readonly replicaIdentity: 'default' | 'full' | 'nothing' | 'index';
  readonly replicaIdentityIndex: string | undefined;
  readonly clusterOn: string | undefined;
}

export interface ViewDef extends Owned {
  readonly schema: string;
  readonly name: string;
  readonly materialized: boolean;
  readonly definition: string;
  readonly options: readonly string[];
  readonly columns: readonly { readonly position: number; readonly name: string; readonly acl: Acl }[];
}

export type ConstraintType = 'check' | 'primary-key' | 'unique' | 'exclusion' | 'foreign-key';

export interface ConstraintDef {
  readonly key: string;
  readonly tableKey: string;
  readonly name: string;
  readonly type: ConstraintType;
  /** pg_get_constraintdef: `PRIMARY KEY (id)`, `CHECK (...) NOT VALID`, `FOREIGN KEY ... DEFERRABLE`. */
  readonly definition: string;
  readonly validated: boolean;
  readonly isLocal: boolean;
  readonly noInherit: boolean;
  /** Set on a partition's copy of its parent's constraint (PostgreSQL 11+). */
  readonly parentKey: string | undefined;
  /** For a foreign key: the referenced table. */
  readonly referencesKey: string | undefined;
  /** The index that backs a primary key, unique or exclusion constraint. */
  readonly indexKey: string | undefined;
}

export interface IndexDef {
  readonly key: string;
  readonly tableKey: string;
  readonly schema: string;
  readonly name: string;
  /** pg_get_indexdef: a full CREATE INDEX statement (`ON ONLY` for a partitioned table's index). */
  readonly definition: string;
  /** The constraint this index backs, if any: then the constraint creates it. */
  readonly constraintKey: string | undefined;
  /** The partitioned index this one is attached to. */
  readonly parentKey: string | undefined;
}

export interface RoutineDef extends Owned {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'function' | 'procedure' | 'aggregate' | 'window';
  /** `a integer, b text` as pg_get_function_identity_arguments prints it. */
  readonly identityArguments: string;
  /** pg_get_functiondef (not for aggregates). */
  readonly definition: string | undefined;
  readonly aggregate: AggregateDetails | undefined;
}

/** What CREATE AGGREGATE needs; function names and types are server-quoted and qualified. */
export interface AggregateDetails {
  /** Full argument list, `ORDER BY` included for ordered-set aggregates. */
  readonly arguments: string;
  readonly kind: 'normal' | 'ordered-set' | 'hypothetical';
  readonly options: readonly (readonly [string, string])[];
}

export interface TriggerDef {
  readonly key: string;
  readonly tableKey: string;
  readonly name: string;
  readonly definition: string;
  /** `O` origin (default), `D` disabled, `R` replica, `A` always. */
  readonly enabled: 'O' | 'D' | 'R' | 'A';
}

export interface RuleDef {
  readonly key: string;
  readonly tableKey: string;
  readonly name: string;
  readonly definition: string;
}

export interface PolicyDef {
  readonly key: string;
  readonly tableKey: string;
  readonly name: string;
  readonly permissive: boolean;
  readonly command: 'ALL' | 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';
  /** Role names; '' is PUBLIC. */
  readonly roles: readonly string[];
  readonly using: string | undefined;
  readonly withCheck: string | undefined;
}

export interface EventTriggerDef {
  readonly key: string;
  readonly name: string;
  readonly owner: string;
  readonly event: string;
  readonly function: string;
  readonly tags: readonly string[];
  readonly enabled: 'O' | 'D' | 'R' | 'A';
}

export interface StatisticsDef {
  readonly key: string;
  readonly tableKey: string;
  readonly schema: string;
  readonly name: string;
  readonly owner: string;
  readonly definition: string;
}

export interface DefaultPrivilegeDef {
  readonly key: string;
  readonly role: string;
  readonly schema: string | undefined;
  /** `TABLES`, `SEQUENCES`, `FUNCTIONS`, `TYPES`, `SCHEMAS`. */
  readonly objectType: string;
  readonly acl: readonly AclEntry[];
}

/** A comment; `subId` is the column number for column comments, else 0. */
export interface CommentDef {
  readonly key: string;
  readonly subId: number;
  readonly text: string;
}

/** `from` needs `to` to exist first (both are object keys). */
export interface Dependency {
  readonly from: string;
  readonly to: string;
}

export interface SchemaCatalog {
  readonly serverVersionNum: number;
  readonly database: DatabaseDef;
  readonly schemas: readonly SchemaDef[];
  readonly extensions: readonly ExtensionDef[];
  readonly collations: readonly CollationDef[];
  readonly types: readonly TypeDef[];
  readonly sequences: readonly SequenceDef[];
  readonly tables: readonly TableDef[];
  readonly views: readonly ViewDef[];
  readonly routines: readonly RoutineDef[];
  readonly constraints: readonly ConstraintDef[];
  readonly indexes: readonly IndexDef[];
  readonly triggers: readonly TriggerDef[];
  readonly rules: readonly RuleDef[];
  readonly policies: readonly PolicyDef[];
  readonly eventTriggers: readonly EventTriggerDef[];
  readonly statistics: readonly StatisticsDef[];
  readonly defaultPrivileges: readonly DefaultPrivilegeDef[];
  readonly comments: readonly CommentDef[];
  readonly dependencies: readonly Dependency[];
}
