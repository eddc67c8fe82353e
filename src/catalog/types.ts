/**
 * What dts knows about the servers, mapped once from the catalogs. Nothing outside src/catalog sees
 * pg_class column names or relkind letters; everything here is readonly data.
 */

/** A fact that was read, or why it could not be (no connection, no permission). */
export type Fact<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export const fact = <T>(value: T): Fact<T> => ({ ok: true, value });
export const noFact = <T>(reason: string): Fact<T> => ({ ok: false, reason });

/** The session dts opened: who it is, what it talks to, whether TLS protects it. */
export interface ServerInfo {
  /** `server_version_num`, e.g. 140022. */
  readonly versionNum: number;
  /** `server_version`, e.g. `14.22`. */
  readonly version: string;
  readonly database: string;
  readonly encrypted: boolean;
  /** TLS protocol, e.g. TLSv1.3, when encrypted. */
  readonly tlsVersion: string | undefined;
  readonly inRecovery: boolean;
  readonly role: RoleInfo;
}

export interface RoleInfo {
  readonly name: string;
  readonly superuser: boolean;
  readonly replication: boolean;
  readonly createDb: boolean;
  /** Cloud roles that grant replication or admin rights (rds_replication, rds_superuser, ...) the role is a member of. */
  readonly cloudRoles: readonly string[];
}

/** Settings by name, as `pg_settings` reports them (numbers in the setting's base unit). */
export type Settings = Readonly<
  Record<string, { readonly value: string; readonly unit: string | undefined }>
>;

export interface DatabaseInfo {
  readonly name: string;
  readonly allowConnections: boolean;
  readonly isTemplate: boolean;
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
  readonly canCreate: boolean;
  readonly canConnect: boolean;
}

export interface ReplicationSlot {
  readonly name: string;
  readonly type: 'logical' | 'physical';
  readonly active: boolean;
  readonly database: string | undefined;
  /** WAL the slot keeps from being removed; undefined when the slot has no restart LSN yet. */
  readonly retainedBytes: number | undefined;
  /** PG13+: reserved, extended, unreserved or lost. */
  readonly walStatus: string | undefined;
}

export interface OpenTransaction {
  readonly pid: number;
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly state: string | undefined;
  readonly ageSeconds: number;
}

export interface PreparedTransaction {
  readonly gid: string;
  readonly database: string;
  readonly owner: string;
  readonly ageSeconds: number;
}

/** Source activity that gets in the way of creating a slot or holds WAL. */
export interface Activity {
  readonly walSendersInUse: number;
  /** Open transactions, oldest first, other than dts' own session. */
  readonly transactions: readonly OpenTransaction[];
  readonly prepared: readonly PreparedTransaction[];
}

/** What IDENTIFY_SYSTEM said on a replication connection. */
export interface ReplicationIdentity {
  readonly systemId: string;
  readonly timeline: number;
  readonly walPosition: string;
}

export type RelationKind =
  'table' | 'partitioned table' | 'foreign table' | 'view' | 'materialized view' | 'sequence';
export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

/** A table, view, materialized view, foreign table or sequence outside the system schemas. */
export interface Relation {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly kind: RelationKind;
  readonly owner: string;
  readonly unlogged: boolean;
  readonly replicaIdentity: ReplicaIdentity;
  readonly hasPrimaryKey: boolean;
  /** Unique, immediate, non-partial indexes on NOT NULL columns: usable as REPLICA IDENTITY USING INDEX. */
  readonly identityCandidates: readonly string[];
  /** User rules (not the _RETURN rule of a view). */
  readonly rules: readonly string[];
  /** pg_inherits parents (one for a partition; several possible with inheritance). */
  readonly parents: readonly number[];
  readonly isPartition: boolean;
  /** pg_total_relation_size; 0 for views and foreign tables. */
  readonly totalBytes: number;
  /** SELECT privilege for the connected role. */
  readonly canSelect: boolean;
  /** The connected role is (a member of) the owner: it may add the table to a publication. */
  readonly ownedByMe: boolean;
  /**
   * User triggers enabled in the default way (ENABLE, not ALWAYS or REPLICA): they fire for replicated
   * rows unless the applying session may set session_replication_role = replica.
   */
  readonly originTriggers: readonly string[];
  /**
   * Its foreign keys with an ON DELETE / ON UPDATE action (CASCADE, SET NULL, SET DEFAULT): the action
   * would run again on the target for replicated rows, unless session_replication_role = replica.
   */
  readonly actingForeignKeys: readonly string[];
  /** Roles other than the owner (and PUBLIC) granted privileges on it: dts grants them on the target too. */
  readonly grantees: readonly string[];
  /** Stored generated columns (PG12+). */
  readonly generatedColumns: readonly string[];
  /** For a sequence owned by a column (serial, identity): the table's oid. */
  readonly ownedByTable: number | undefined;
  /** For views and materialized views: the relations their query reads. */
  readonly dependsOn: readonly number[];
}

/** A role on a server, as the connected role sees it. */
export interface RoleAccess {
  readonly name: string;
  readonly superuser: boolean;
  /** The connected role may make it the owner of objects (ALTER ... OWNER TO). */
  readonly ownable: boolean;
}

export interface SchemaInfo {
  readonly name: string;
  readonly owner: string;
  readonly canUse: boolean;
  /** Roles other than the owner (and PUBLIC) granted privileges on it. */
  readonly grantees: readonly string[];
}

export interface ForeignKey {
  readonly name: string;
  readonly table: number;
  readonly references: number;
}

export interface Extension {
  readonly name: string;
  readonly version: string;
}

export type ObjectKind = 'function' | 'index' | 'trigger' | 'type';

/** A non-relation object whose name can clash on the target. `table` is set for indexes and triggers. */
export interface NamedObject {
  readonly kind: ObjectKind;
  readonly schema: string;
  readonly name: string;
  /** Function identity arguments, so overloads are told apart. */
  readonly args: string | undefined;
  readonly table: string | undefined;
}

/** Everything the checks need from one source database. */
export interface SourceDatabase {
  readonly name: string;
  readonly relations: readonly Relation[];
  readonly schemas: readonly SchemaInfo[];
  readonly foreignKeys: readonly ForeignKey[];
  readonly largeObjects: number;
  /** Owners of the large objects, with how many each owns. */
  readonly largeObjectOwners: readonly { readonly owner: string; readonly count: number }[];
  /** C-language functions not created by an extension, as `schema.name(args)`. */
  readonly cFunctions: readonly string[];
  readonly extensions: readonly Extension[];
  readonly publications: readonly string[];
  readonly objects: readonly NamedObject[];
}

/** What already exists in a target database under names dts would create. */
export interface TargetDatabase {
  readonly name: string;
  readonly relations: readonly {
    readonly schema: string;
    readonly name: string;
    readonly kind: RelationKind;
  }[];
  readonly objects: readonly NamedObject[];
}

export interface AvailableExtension {
  readonly name: string;
  readonly defaultVersion: string | undefined;
  readonly versions: readonly string[];
}
