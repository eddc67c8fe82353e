import type { SchemaReport } from '../schema/report.js';
import type { FullLoadPhase } from './events.js';
import type { CopyFormat } from './types.js';

/** One copied table (all its ranges together). */
export interface TableLoadReport {
  readonly schema: string;
  readonly name: string;
  readonly format: CopyFormat;
  /** Why text, when text was used. */
  readonly formatReason: string | undefined;
  readonly parts: number;
  /** COPY's own row count on the target. */
  readonly rows: number;
  /** COPY data bytes streamed. */
  readonly bytes: number;
  /** Wall time from the first range's start to the last one's end. */
  readonly ms: number;
}

/** One source database's load. `consistentPoint` is where incremental sync would start. */
export interface DatabaseLoadReport {
  readonly source: string;
  readonly target: string;
  readonly slot: string;
  readonly temporarySlot: boolean;
  readonly consistentPoint: string;
  readonly snapshotName: string;
  readonly snapshotAt: string;
  readonly tables: readonly TableLoadReport[];
  readonly rows: number;
  readonly bytes: number;
  readonly largeObjects: { readonly count: number; readonly bytes: number };
  readonly sequences: number;
  /** Materialized views refreshed on the target (those populated on the source). */
  readonly refreshed: readonly string[];
  /** Target sessions loaded with session_replication_role = replica. */
  readonly replicaRole: boolean;
  readonly warnings: readonly string[];
  /**
   * Copied by an earlier run of the task (resume): the numbers come from `_dts`, large objects and
   * sequences were set then and are not counted again.
   */
  readonly copiedEarlier?: boolean;
}

export interface PhaseTimingReport {
  readonly phase: FullLoadPhase;
  /** Undefined for task-wide phases (the schema stages). */
  readonly database: string | undefined;
  readonly ms: number;
}

/**
 * The result of `runFullLoad`. `ok` is false when a schema phase failed (its report says what); a failed
 * copy throws instead, since nothing useful is left to report.
 */
export interface FullLoadReport {
  readonly task: string;
  readonly ok: boolean;
  readonly preData: SchemaReport;
  /** Undefined when pre-data failed and nothing was copied. */
  readonly postData: SchemaReport | undefined;
  readonly databases: readonly DatabaseLoadReport[];
  readonly timings: readonly PhaseTimingReport[];
  readonly durationMs: number;
}
