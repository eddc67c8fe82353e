/**
 * What the copy stage reads from the source (inside the exported snapshot) and what its planner makes of
 * it. Rows are mapped once into these in `read.ts`; nothing downstream sees catalog column names.
 */

/** `pg_type.typtype` in words. */
export type TypeKind = 'base' | 'composite' | 'domain' | 'enum' | 'pseudo' | 'range' | 'multirange';

export interface CopyColumn {
  readonly name: string;
  /** As `format_type()` prints it, for messages. */
  readonly typeName: string;
  readonly typeOid: number;
  /** The column's type with every domain peeled off (the type itself when it is not a domain). */
  readonly baseTypeOid: number;
  readonly baseKind: TypeKind;
  /** The base type has send and receive functions. */
  readonly baseHasBinaryIo: boolean;
  /** GENERATED ALWAYS AS (...) STORED: computed again by the target, never copied. */
  readonly generated: boolean;
}

/** A table of the source database as the copy stage sees it. */
export interface SourceTable {
  /** `pg_class:<oid>` like the schema catalog's keys. */
  readonly key: string;
  readonly schema: string;
  readonly name: string;
  /** Partitioned parents hold no rows of their own: their leaf partitions are copied instead. */
  readonly kind: 'table' | 'partitioned';
  /** The parent's key when this is a partition. */
  readonly partitionOf: string | undefined;
  readonly columns: readonly CopyColumn[];
  /** pg_relation_size (main fork), the measure for splitting. */
  readonly bytes: number;
  /** pg_class.reltuples, or undefined when never analyzed. */
  readonly estimatedRows: number | undefined;
}

/** A sequence's state on the source. */
export interface SequenceValue {
  readonly schema: string;
  readonly name: string;
  /** int8 as text: no precision is lost on the way. */
  readonly lastValue: string;
  readonly isCalled: boolean;
}

/** One large object's metadata; its bytes are streamed in chunks, never held whole. */
export interface LargeObject {
  /** The OID as text (OIDs above 2^31 stay exact). */
  readonly oid: string;
  readonly owner: string;
  readonly grants: readonly {
    readonly grantee: string;
    readonly privilege: string;
    readonly grantable: boolean;
  }[];
  /** True when the ACL is NULL (default privileges: only the owner). */
  readonly defaultAcl: boolean;
  readonly comment: string | undefined;
}

export type CopyFormat = 'binary' | 'text';

/** A block range of a split table: `from` inclusive, `to` exclusive; undefined means unbounded. */
export interface BlockRange {
  readonly from: number | undefined;
  readonly to: number | undefined;
}

/** How one table is copied. */
export interface TablePlan {
  readonly key: string;
  readonly schema: string;
  readonly name: string;
  /** The columns copied, in source order (generated ones left out). */
  readonly columns: readonly string[];
  readonly format: CopyFormat;
  /** Why text was chosen, when it was (for the report and people wondering about speed). */
  readonly formatReason: string | undefined;
  /** 1 for a table copied whole. */
  readonly parts: number;
  readonly estimatedBytes: number;
  readonly estimatedRows: number | undefined;
}

/** One COPY: a whole table, or one block range of a split one. */
export interface CopyUnit {
  /** `schema.name` with part, unique in the plan. */
  readonly id: string;
  readonly table: TablePlan;
  /** 0-based. */
  readonly part: number;
  readonly range: BlockRange | undefined;
  readonly estimatedBytes: number;
  /** `COPY ... TO STDOUT` on the source. */
  readonly copyOut: string;
  /** `COPY ... FROM STDIN` on the target. */
  readonly copyIn: string;
  /**
   * A whole table is emptied and loaded in one target transaction (TRUNCATE then COPY FREEZE), so a
   * retried unit never duplicates rows and the loaded rows need no later freezing vacuum.
   */
  readonly truncateFirst: boolean;
}

export interface CopyPlan {
  readonly tables: readonly TablePlan[];
  /** Largest first, so the longest copies start early and the workers finish together. */
  readonly units: readonly CopyUnit[];
  /** Selected tables that are split: emptied once before their ranges are loaded. */
  readonly splitTables: readonly TablePlan[];
  /** The split threshold used: the task's, or the automatic one. */
  readonly splitBytes: number;
}
