/** What `dts verify` returns: plain data, rendered by the CLI or printed as JSON. */

/** A row that differs: named by its key (or, in a table without a key, by its row hash). */
export interface RowDifference {
  /** missing: on the source only; extra: on the target only; changed: same key, other values. */
  readonly kind: 'missing' | 'extra' | 'changed';
  /** Key column -> value as text; undefined for a table without a key. */
  readonly key: Readonly<Record<string, string | null>> | undefined;
  /** md5 of the row's text form (the side that has it; the source's for `changed`). */
  readonly rowHash: string;
  /** The row's text form, only with --show-rows. */
  readonly sourceRow?: string;
  readonly targetRow?: string;
}

export interface TableVerdict {
  /** The source database (the target database is named in the report's databases). */
  readonly database: string;
  readonly schema: string;
  readonly name: string;
  readonly status: 'ok' | 'different';
  /** The key rows are named by; empty: the table has none, rows are compared as a multiset. */
  readonly key: readonly string[];
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly buckets: number;
  readonly bucketsCompared: number;
  readonly bucketsDifferent: number;
  readonly missing: number;
  readonly extra: number;
  readonly changed: number;
  /** Up to --examples of them. */
  readonly examples: readonly RowDifference[];
  /** pg_relation_size of the source table (throughput figures). */
  readonly bytes: number;
  /** Anything else that differs or limits the comparison (missing table, columns left out). */
  readonly notes: readonly string[];
  readonly ms: number;
}

/** A difference of structure, named by object. */
export interface SchemaFinding {
  readonly database: string;
  /** `table public.items`, `index public.items_pkey`, `sequence public.items_id_seq`. */
  readonly object: string;
  readonly problem: string;
}

/** How source and target were read. */
export interface Consistency {
  /**
   * live: a syncing task, both sides read as of the same source position per database (the runner held
   * there); completed: the task is completed, the current states are compared; current: no runner
   * applies changes (full load, stopped sync), the current states are compared.
   */
  readonly mode: 'live' | 'completed' | 'current';
  /** Per source database: the source position both sides were read at (live only). */
  readonly positions: Readonly<Record<string, string>>;
  readonly note: string;
}

export interface DatabaseVerdict {
  readonly source: string;
  readonly target: string;
}

export interface VerifyTotals {
  readonly tables: number;
  readonly different: number;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly missing: number;
  readonly extra: number;
  readonly changed: number;
  readonly schemaFindings: number;
  readonly bytes: number;
}

export interface VerifyReport {
  readonly task: string;
  /** Every compared table equal and no schema finding. */
  readonly ok: boolean;
  readonly consistency: Consistency;
  readonly databases: readonly DatabaseVerdict[];
  /** Percent of each table's buckets compared (100 unless --sample). */
  readonly samplePercent: number;
  readonly tables: readonly TableVerdict[];
  readonly schema: readonly SchemaFinding[];
  readonly totals: VerifyTotals;
  readonly durationMs: number;
}
