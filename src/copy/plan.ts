import { displayName } from '../catalog/display.js';
import { selectObjects, type DatabasePatterns } from '../catalog/selection.js';
import { quoteQualified, quoteIdent } from '../pg/quote.js';
import type {
  BlockRange,
  CopyColumn,
  CopyFormat,
  CopyPlan,
  CopyUnit,
  SourceTable,
  TablePlan,
} from './types.js';

/** OIDs below this are assigned by initdb: the same type on every server of any major version. */
const FIRST_NORMAL_OBJECT_ID = 16384;

/**
 * The object-identifier alias types (regclass, regtype, ...) and their arrays: their binary form is the
 * OID, which names another object on the target (or none), while their text form is the object's name.
 */
const OID_ALIAS_TYPES = new Set(
  [
    [24, 1008], // regproc, regproc[]
    [2202, 2207], // regprocedure, regprocedure[]
    [2203, 2208], // regoper, regoper[]
    [2204, 2209], // regoperator, regoperator[]
    [2205, 2210], // regclass, regclass[]
    [2206, 2211], // regtype, regtype[]
    [3734, 3735], // regconfig, regconfig[]
    [3769, 3770], // regdictionary, regdictionary[]
    [4089, 4090], // regnamespace, regnamespace[]
    [4096, 4097], // regrole, regrole[]
    [4191, 4192], // regcollation, regcollation[]
  ].flat(),
);

/** More ranges than this only adds per-COPY overhead; a range is then several blocks. */
export const MAX_PARTS = 4096;

/**
 * The automatic split threshold never goes below this. A range costs more per byte than a whole table
 * (a TID range scan under a query instead of a plain COPY, and no FREEZE), so splitting pays only for a
 * table that would otherwise keep one worker busy long after the others.
 */
export const MIN_AUTO_SPLIT_BYTES = 1024 ** 3;

/**
 * The split threshold when the task sets none: one worker's share of the data, and at least 1 GB. Only a
 * table that alone is more than a share keeps one worker busy after the others are done (one 6 GB table
 * among 7 GB on four workers, say), so only such a table is split, into pieces of at most a share. Smaller
 * tables are copied whole: on the full-load bench (385 MB, two workers) splitting its biggest table, just
 * over a share, made the run 1 to 3 s slower in 11.
 */
export function automaticSplitBytes(totalBytes: number, parallel: number): number {
  return Math.max(MIN_AUTO_SPLIT_BYTES, Math.ceil(totalBytes / Math.max(1, parallel)));
}

export interface CopyPlanInput {
  /** Every table of the source database (the selection is applied here). */
  readonly tables: readonly SourceTable[];
  readonly patterns: DatabasePatterns;
  /**
   * Tables bigger than this (pg_relation_size) are split into block ranges; undefined: derived from the
   * selected tables' size and `parallel` (`automaticSplitBytes`).
   */
  readonly splitTableBytes: number | undefined;
  /** Concurrent copy workers, for the automatic split threshold. */
  readonly parallel: number;
  /** The source's block size (`block_size`, 8192 unless built otherwise). */
  readonly blockSize: number;
  /**
   * Binary COPY carries strings in the server encoding with no conversion, so it is only used when both
   * servers use the same one.
   */
  readonly sameEncoding: boolean;
}

/**
 * Why a column cannot travel in binary COPY between two servers, or undefined when it can.
 *
 * Binary COPY has no per-field type OIDs, and built-in types keep their binary format across major
 * versions, but some binary formats embed OIDs: arrays carry their element type's OID, composites each
 * field's type OID, and the receiving server rejects OIDs that are not its own. Those of user-defined and
 * extension types differ between servers. So binary is used only when every column is, after peeling off
 * domains, a built-in type with send/receive functions (built-in arrays embed built-in element OIDs, which
 * are stable) or an enum (sent as its label). Anything else makes the whole table text.
 */
export function binaryProblem(column: CopyColumn): string | undefined {
  if (column.baseKind === 'enum') return undefined;
  if (column.baseTypeOid >= FIRST_NORMAL_OBJECT_ID)
    return `column ${displayName(column.name)} has the user-defined type ${column.typeName}`;
  if (OID_ALIAS_TYPES.has(column.baseTypeOid))
    return `column ${displayName(column.name)} has type ${column.typeName}, whose binary form is an OID`;
  if (!column.baseHasBinaryIo)
    return `column ${displayName(column.name)} has type ${column.typeName}, which has no binary I/O`;
  return undefined;
}

/** Binary when every copied column allows it (measured about 1.5x faster than text); text otherwise. */
export function chooseFormat(
  columns: readonly CopyColumn[],
  sameEncoding: boolean,
): { format: CopyFormat; reason: string | undefined } {
  if (!sameEncoding) return { format: 'text', reason: 'the servers use different encodings' };
  for (const c of columns) {
    const problem = binaryProblem(c);
    if (problem !== undefined) return { format: 'text', reason: problem };
  }
  return { format: 'binary', reason: undefined };
}

/**
 * Block ranges covering a table of `bytes`: none (copy it whole) when it is not bigger than `splitBytes`.
 * The first range has no lower bound and the last no upper bound, so rows in blocks added after the size
 * was read (invisible to the snapshot anyway) can never fall between ranges.
 */
export function blockRanges(bytes: number, splitBytes: number, blockSize: number): readonly BlockRange[] {
  const blocks = Math.ceil(bytes / blockSize);
  if (bytes <= splitBytes || blocks < 2) return [];
  const wanted = Math.min(Math.ceil(bytes / Math.max(splitBytes, 1)), blocks, MAX_PARTS);
  const step = Math.ceil(blocks / wanted);
  const parts = Math.ceil(blocks / step);
  if (parts < 2) return [];
  const ranges: BlockRange[] = [];
  for (let i = 0; i < parts; i++)
    ranges.push({ from: i === 0 ? undefined : i * step, to: i === parts - 1 ? undefined : (i + 1) * step });
  return ranges;
}

const formatOption = (format: CopyFormat) => `FORMAT ${format}`;
const columnList = (columns: readonly string[]) => columns.map(quoteIdent).join(', ');

/** The WHERE clause of a block range; TID range scans (PostgreSQL 14+) read only those blocks. */
export function rangePredicate(range: BlockRange): string {
  const parts: string[] = [];
  if (range.from !== undefined) parts.push(`ctid >= '(${range.from},0)'::pg_catalog.tid`);
  if (range.to !== undefined) parts.push(`ctid < '(${range.to},0)'::pg_catalog.tid`);
  return parts.join(' AND ');
}

/**
 * The source side of one COPY. A whole table uses `COPY table (cols) TO`, which already has ONLY semantics
 * (inheritance children are not included) and is the fastest form; a range needs a query, `FROM ONLY`.
 */
export function copyOutSql(
  table: Pick<TablePlan, 'schema' | 'name' | 'columns' | 'format'>,
  range: BlockRange | undefined,
): string {
  const name = quoteQualified(table.schema, table.name);
  const options = `WITH (${formatOption(table.format)})`;
  if (range === undefined) {
    const cols = table.columns.length ? ` (${columnList(table.columns)})` : '';
    return `COPY ${name}${cols} TO STDOUT ${options}`;
  }
  // A table whose every column is generated still has rows: select nothing from each of them.
  const select = table.columns.length ? `${columnList(table.columns)} ` : '';
  return `COPY (SELECT ${select}FROM ONLY ${name} WHERE ${rangePredicate(range)}) TO STDOUT ${options}`;
}

/** The target side of one COPY; FREEZE only where the same transaction truncated the table. */
export function copyInSql(
  table: Pick<TablePlan, 'schema' | 'name' | 'columns' | 'format'>,
  freeze: boolean,
): string {
  const cols = table.columns.length ? ` (${columnList(table.columns)})` : '';
  const options = freeze ? `${formatOption(table.format)}, FREEZE` : formatOption(table.format);
  return `COPY ${quoteQualified(table.schema, table.name)}${cols} FROM STDIN WITH (${options})`;
}

/**
 * Which tables are copied, how, and in which pieces. Pure: everything comes from `input`.
 *
 * Selection follows the schema stage: the patterns pick tables, and a selected partitioned table brings
 * all its partitions (at any depth). Only tables that hold rows themselves are copied, each on its own
 * (ONLY semantics): leaf partitions, inheritance parents and children separately, never partitioned parents.
 */
export function planCopy(input: CopyPlanInput): CopyPlan {
  const { selected } = selectObjects(input.tables, input.patterns);
  const chosen = new Set(selected.map((t) => t.key));
  // A partition is selected when its parent is: grow until nothing changes (sub-partitions).
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of input.tables)
      if (t.partitionOf !== undefined && chosen.has(t.partitionOf) && !chosen.has(t.key)) {
        chosen.add(t.key);
        grew = true;
      }
  }

  // Partitioned parents hold no rows: theirs live in their partitions, copied on their own.
  const copied = input.tables.filter((t) => chosen.has(t.key) && t.kind !== 'partitioned');
  const splitBytes =
    input.splitTableBytes ??
    automaticSplitBytes(
      copied.reduce((n, t) => n + t.bytes, 0),
      input.parallel,
    );

  const tables: TablePlan[] = [];
  const units: CopyUnit[] = [];
  const splitTables: TablePlan[] = [];
  for (const t of copied) {
    const columns = t.columns.filter((c) => !c.generated);
    const { format, reason } = chooseFormat(columns, input.sameEncoding);
    const ranges = blockRanges(t.bytes, splitBytes, input.blockSize);
    const table: TablePlan = {
      key: t.key,
      schema: t.schema,
      name: t.name,
      columns: columns.map((c) => c.name),
      format,
      formatReason: reason,
      parts: Math.max(ranges.length, 1),
      estimatedBytes: t.bytes,
      estimatedRows: t.estimatedRows,
    };
    tables.push(table);
    const id = displayName(t.schema, t.name);
    if (ranges.length === 0) {
      units.push({
        id,
        table,
        part: 0,
        range: undefined,
        estimatedBytes: t.bytes,
        copyOut: copyOutSql(table, undefined),
        copyIn: copyInSql(table, true),
        truncateFirst: true,
      });
      continue;
    }
    splitTables.push(table);
    const perPart = t.bytes / ranges.length;
    ranges.forEach((range, part) =>
      units.push({
        id: `${id} part ${part + 1}/${ranges.length}`,
        table,
        part,
        range,
        estimatedBytes: perPart,
        copyOut: copyOutSql(table, range),
        copyIn: copyInSql(table, false),
        truncateFirst: false,
      }),
    );
  }
  // Longest first (LPT scheduling): a big table started last would leave the other workers idle.
  // Ties keep catalog order, so the plan is deterministic.
  const order = units.map((u, i) => ({ u, i }));
  order.sort((a, b) => b.u.estimatedBytes - a.u.estimatedBytes || a.i - b.i);
  return { tables, units: order.map((o) => o.u), splitTables, splitBytes };
}
