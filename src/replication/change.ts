import type { Lsn } from '../pg/lsn.js';

/**
 * The one change-event type between the decoder (replication/) and the applier (apply/). Values are the
 * source's text output, never reinterpreted: the target parses them back with its input functions, so
 * numeric precision, timestamptz microseconds, NaN and Infinity survive exactly.
 */

/** A column whose value did not change and was not sent (an unchanged TOASTed value). Never NULL. */
export const UNCHANGED: unique symbol = Symbol('unchanged');

/** A value: text, SQL NULL, or "not sent, keep what the row has". */
export type Value = string | null | typeof UNCHANGED;

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface RelationColumn {
  readonly name: string;
  /** The source's type OID: built-in OIDs (< 16384) are the same on every server, others are not. */
  readonly typeOid: number;
  readonly typeMod: number;
  /** Schema and name of a non-built-in type, from the Type message that preceded the relation. */
  readonly typeName: string | undefined;
  /** Part of the replica identity (primary key or the USING INDEX columns). */
  readonly key: boolean;
}

/** A published table as the source describes it (sent before its first change in a session, and after DDL). */
export interface Relation {
  /** The source's OID (as a signed int32, the way the decoder reads it): only a cache key. */
  readonly id: number;
  readonly schema: string;
  readonly name: string;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly RelationColumn[];
}

/**
 * One decoded message of the stream. Tuples are arrays aligned with `relation.columns`.
 * LSN watermarks: `begin.finalLsn` is where the commit record starts, `commit.lsn` where it ends; the
 * end is what dts stores as applied and confirms to the slot.
 */
export type Change =
  | { readonly kind: 'begin'; readonly finalLsn: Lsn; readonly xid: number }
  | { readonly kind: 'relation'; readonly relation: Relation }
  | { readonly kind: 'insert'; readonly relation: Relation; readonly values: readonly Value[] }
  | {
      readonly kind: 'update';
      readonly relation: Relation;
      /**
       * The row before: every column for REPLICA IDENTITY FULL, only the key columns (others UNCHANGED) when
       * the key changed, undefined when the key did not change (then the key is in `values`).
       */
      readonly old: readonly Value[] | undefined;
      readonly values: readonly Value[];
    }
  | { readonly kind: 'delete'; readonly relation: Relation; readonly old: readonly Value[] }
  | {
      readonly kind: 'truncate';
      readonly relations: readonly Relation[];
      readonly cascade: boolean;
      readonly restartIdentity: boolean;
    }
  | {
      readonly kind: 'commit';
      readonly lsn: Lsn;
      readonly finalLsn: Lsn;
      /** The source's commit timestamp, in microseconds since the Unix epoch (for the lag in seconds). */
      readonly commitTimeUs?: bigint;
    };

export type RowChange = Extract<Change, { kind: 'insert' | 'update' | 'delete' | 'truncate' }>;

/** `schema.table` for messages (not for SQL: use quoteQualified). */
export function relationLabel(r: Pick<Relation, 'schema' | 'name'>): string {
  return `${r.schema}.${r.name}`;
}
