import type { UnmatchedPattern } from '../catalog/selection.js';
import type {
  Activity,
  AvailableExtension,
  DatabaseInfo,
  Fact,
  Relation,
  ReplicationIdentity,
  ReplicationSlot,
  RoleAccess,
  ServerInfo,
  Settings,
  SourceDatabase,
  TargetDatabase,
} from '../catalog/types.js';
import type { TargetWrite } from '../state/target-writes.js';

/** Thresholds the assessors judge by. Tests lower them to provoke findings quickly on real servers. */
export interface Limits {
  /** Open transactions older than this delay slot creation (default 5 minutes). */
  readonly longTransactionSeconds: number;
  /** REPLICA IDENTITY FULL on tables at least this big is worth a warning (default 1 GiB). */
  readonly bigTableBytes: number;
}

export const DEFAULT_LIMITS: Limits = { longTransactionSeconds: 300, bigTableBytes: 1024 ** 3 };

/** A failed connection, with the message and hint from connectError. */
export interface ConnectFailure {
  readonly message: string;
  readonly hint: string | undefined;
  /** DtsError code from connectError, e.g. `no-database`. */
  readonly code?: string;
}

export type Connected<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: ConnectFailure };

/** The target session, and whether the database the task names exists there. */
export interface TargetSession {
  readonly info: ServerInfo;
  /** The task's target database when it does not exist yet (dts connected to a maintenance database instead). */
  readonly missingDatabase: string | undefined;
}

/** One selected database: its source facts, what the selection picks, and what the target holds. */
export interface DatabaseFacts {
  readonly name: string;
  /** The database it goes into on the target (see targetDatabaseName). */
  readonly targetName: string;
  readonly source: Fact<SourceDatabase>;
  /** Selected relations (tables, views, sequences, ...); empty when the source facts are missing. */
  readonly selected: readonly Relation[];
  /** The target database (`targetName`), or undefined when it does not exist yet (dts creates it). */
  readonly target: Fact<TargetDatabase | undefined>;
  /** Writes to it not made by dts while this task synced (state/target-writes.ts); empty when none. */
  readonly targetWrites: Fact<readonly TargetWrite[]>;
}

export interface SelectionFacts {
  readonly databases: readonly DatabaseFacts[];
  /** Listed databases the source does not have. */
  readonly unknownDatabases: readonly string[];
  readonly unmatched: readonly UnmatchedPattern[];
}

/** Everything read from the servers, before any judgement. Assessors only look at this and the task. */
export interface Facts {
  readonly limits: Limits;
  readonly sourceConnection: Connected<ServerInfo>;
  readonly source: Fact<ServerInfo>;
  readonly sourceSettings: Fact<Settings>;
  readonly sourceSlots: Fact<readonly ReplicationSlot[]>;
  readonly sourceActivity: Fact<Activity>;
  readonly sourceDatabases: Fact<readonly DatabaseInfo[]>;
  /** Undefined when the mode needs no replication connection (structure). */
  readonly replication: Connected<ReplicationIdentity> | undefined;
  readonly targetConnection: Connected<TargetSession>;
  readonly target: Fact<ServerInfo>;
  readonly targetSettings: Fact<Settings>;
  readonly targetDatabases: Fact<readonly DatabaseInfo[]>;
  readonly targetRoles: Fact<readonly string[]>;
  /** Target roles, and which the target role may make owners (itself, and roles it may SET ROLE to). */
  readonly targetRoleAccess: Fact<readonly RoleAccess[]>;
  readonly targetExtensions: Fact<readonly AvailableExtension[]>;
  /** Undefined when the role may set session_replication_role, else the server's refusal. */
  readonly targetReplicationRole: Fact<string | undefined>;
  readonly selection: Fact<SelectionFacts>;
  /** The task's `source.primary` (a standby source's primary), when it names one and the mode copies data. */
  readonly sourcePrimary?: Connected<PrimaryFacts>;
}

/** What dts needs of a standby's primary. */
export interface PrimaryFacts {
  readonly inRecovery: boolean;
  readonly walLevel: string;
  /** pg_control_system()'s system identifier; undefined when the role may not read it. */
  readonly systemId: string | undefined;
  /** Whether the role may run pg_log_standby_snapshot() (16+; superuser only unless granted). */
  readonly canLogStandbySnapshot: boolean;
  /** The role dts connects to the primary as: the one CREATE PUBLICATION runs as. */
  readonly role: PublisherRole;
}

/** What CREATE PUBLICATION ... FOR TABLE asks of the role that runs it, read on the server it runs on. */
export interface PublisherRole {
  readonly name: string;
  readonly superuser: boolean;
  /** Roles whose privileges it has (itself and those it inherits): it may publish their tables. */
  readonly actsAs: readonly string[];
  /** The databases on which it has CREATE. */
  readonly createOn: readonly string[];
}
