import type { DatabasePlan, ObjectKind, Phase, SkippedObject } from './plan.js';

/** An object of the plan, as the report names it. */
export interface ObjectRef {
  readonly kind: ObjectKind;
  readonly name: string;
  readonly phase: Phase;
}

/** An object whose statements failed: the server's own words, and the statement that failed. */
export interface FailedObject extends ObjectRef {
  readonly message: string;
  readonly sqlstate: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly statement: string;
}

export interface NotAttemptedObject extends ObjectRef {
  /** The failed object it needed. */
  readonly reason: string;
}

/**
 * What happened in one database. The schema is applied in one transaction: when anything failed, nothing
 * stays (`committed` false, `rolledBack` lists what had worked before the rollback).
 */
export interface DatabaseSchemaReport {
  readonly source: string;
  readonly target: string;
  readonly createdDatabase: boolean;
  readonly committed: boolean;
  readonly created: readonly ObjectRef[];
  readonly rolledBack: readonly ObjectRef[];
  readonly failed: readonly FailedObject[];
  readonly notAttempted: readonly NotAttemptedObject[];
  readonly skipped: readonly SkippedObject[];
  readonly warnings: readonly string[];
}

export interface SchemaReport {
  readonly task: string;
  readonly ok: boolean;
  readonly databases: readonly DatabaseSchemaReport[];
  readonly durationMs: number;
}

/** The plan `run --dry-run` prints: every database's statements, nothing applied. */
export interface SchemaPlanReport {
  readonly task: string;
  readonly databases: readonly DatabasePlan[];
  /** Roles the plan would need on the target, when the target was not read (dry run). */
  readonly roles: readonly string[];
}
