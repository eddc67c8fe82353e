import type { CopyFormat } from './types.js';

/** The stages of a full load, in order. `pre-data`/`post-data` are the schema stage's halves. */
export const FULL_LOAD_PHASES = [
  'pre-data',
  'snapshot',
  'copy',
  'large objects',
  'sequences',
  'post-data',
  'refresh',
  'analyze',
  'done',
] as const;
export type FullLoadPhase = (typeof FULL_LOAD_PHASES)[number];

/** A table of the plan, for totals and ETA (estimates come from pg_class on the source). */
export interface PlannedTable {
  /** `schema.name` as people read it; unique within a database. */
  readonly table: string;
  readonly parts: number;
  readonly format: CopyFormat;
  readonly estimatedBytes: number;
  readonly estimatedRows: number | undefined;
}

/**
 * What a full load reports while it runs. Plain data: one renderer turns it into a listr2 display on a
 * terminal, lines off one, or JSON lines with --json. `database` is the source database's name. Row data
 * never appears; byte counts are COPY data bytes (the stream), not table size on disk.
 */
export type FullLoadEvent =
  | { readonly type: 'phase'; readonly database: string | undefined; readonly phase: FullLoadPhase }
  | {
      readonly type: 'snapshot';
      readonly database: string;
      readonly slot: string;
      readonly consistentPoint: string;
      readonly snapshotName: string;
    }
  | { readonly type: 'plan'; readonly database: string; readonly tables: readonly PlannedTable[] }
  | {
      readonly type: 'unit-started';
      readonly database: string;
      readonly table: string;
      readonly part: number;
      readonly parts: number;
    }
  /** Bytes copied so far by this unit (cumulative, sent at most a few times a second). */
  | {
      readonly type: 'unit-progress';
      readonly database: string;
      readonly table: string;
      readonly part: number;
      readonly bytes: number;
    }
  | {
      readonly type: 'unit-done';
      readonly database: string;
      readonly table: string;
      readonly part: number;
      readonly parts: number;
      readonly rows: number;
      readonly bytes: number;
      readonly ms: number;
    }
  /**
   * A copied table's keys and indexes were built (right after its last unit): `built` objects now,
   * `already` found built by an earlier run, `failed` rolled back with the rest of that table's.
   */
  | {
      readonly type: 'table-post-data';
      readonly database: string;
      readonly table: string;
      readonly built: number;
      readonly already: number;
      readonly failed: number;
      readonly ms: number;
    }
  /** A line for people (e.g. `reading the schema of shop on the source`). */
  | { readonly type: 'step'; readonly text: string };

export type FullLoadListener = (event: FullLoadEvent) => void;
