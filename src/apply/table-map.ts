import { DtsError, ExitCode } from '../errors.js';
import { relationLabel, type Relation } from '../replication/change.js';
import type { MatchColumn } from './sql.js';

/** A target table's column as the applier needs it (mapped once from the catalog row in applier.ts). */
export interface TargetColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
  /** `schema.name` of the type, to compare non-built-in types (OIDs differ between servers). */
  readonly typeName: string;
  /** The same for a domain's base type, under every level of domain (pgoutput names a domain column's type by it). */
  readonly baseTypeName: string | undefined;
  /** As format_type prints it, for messages. */
  readonly typeDisplay: string;
  /** Element type of an array, bottom base type of a domain (0 when neither). */
  readonly elemOid: number;
  readonly baseOid: number;
  readonly generated: boolean;
  /** Values can travel as elements of an array literal of the type (sql.ts, MatchColumn.arrayType). */
  readonly arrayable: boolean;
  /** GENERATED ALWAYS AS IDENTITY: INSERT needs OVERRIDING SYSTEM VALUE, UPDATE may not set it. */
  readonly identityAlways: boolean;
}

export interface TargetTable {
  readonly schema: string;
  readonly name: string;
  readonly partitioned: boolean;
  readonly columns: readonly TargetColumn[];
  /**
   * The columns of each unique index and exclusion constraint (an expression adds none); undefined when
   * not read, which is taken as "may have others".
   */
  readonly uniqueIndexes?: readonly (readonly string[])[];
}

/** How the changes of one source relation are written into its target table. */
export interface TableMap {
  readonly relation: Relation;
  readonly target: TargetTable;
  /** Per source column: written, or left out because the target computes it (a generated column). */
  readonly write: readonly boolean[];
  /** Per source column: a GENERATED ALWAYS identity column on the target. */
  readonly identityAlways: readonly boolean[];
  /** Per source column: how to compare it when it identifies a row. */
  readonly match: readonly MatchColumn[];
  readonly full: boolean;
  /**
   * Rows with distinct keys can be updated in one statement, in any order: the table has a key and every
   * unique index or exclusion constraint covers all of its columns, so no UPDATE can take a value another
   * row of the same statement still holds.
   */
  readonly batchUpdates: boolean;
  /**
   * A unique index of the target covers only key columns, none of them compared as text: each row of a
   * multi-row UPDATE or DELETE is then found by an index lookup. The apply session turns hash and merge
   * joins off for that (the planner otherwise hashes the list of rows and scans the whole table for each
   * statement, twice the target's CPU per row); for a table without such an index they are on again
   * around its statements.
   */
  readonly keyIndexed: boolean;
  /** Indices of the source's replica identity (key) columns, and of the columns written, in column order. */
  readonly keyColumns: readonly number[];
  readonly written: readonly number[];
}

/** Below this OID types are built in and have the same OID on every server. */
const FIRST_NORMAL_OID = 16384;

// Built-in types without a btree/hash equality (json, xml, point, jsonpath, txid_snapshot, pg_snapshot)
// or whose `=` is not identity (lseg, box, path, polygon, line, circle compare lengths or areas): matched
// by their text form.
const TEXT_MATCH = new Set([114, 142, 600, 601, 602, 603, 604, 628, 718, 4072, 2970, 5038]);

function sameType(src: Relation['columns'][number], dst: TargetColumn): boolean {
  if (src.typeMod !== dst.typeMod) return false;
  if (src.typeOid < FIRST_NORMAL_OID || dst.typeOid < FIRST_NORMAL_OID) return src.typeOid === dst.typeOid;
  return src.typeName === undefined || src.typeName === dst.typeName || src.typeName === dst.baseTypeName;
}

function schemaChanged(relation: Relation, what: readonly string[]): DtsError {
  return new DtsError(
    'source-schema-changed',
    `the source's table ${relationLabel(relation)} no longer matches the target: ${what.join('; ')}`,
    {
      hint: 'the schema changed on the source during incremental sync: run the same DDL on the target, then run dts again (it resumes from the last applied transaction; nothing after it was applied)',
      exitCode: ExitCode.target,
      details: what,
    },
  );
}

/**
 * Map a Relation message onto the target table of the same schema and name (a leaf partition or a root,
 * whichever the publication sends), or fail with what differs. Target columns the source does not send are
 * a difference unless the target generates them; a source column the target generates is left to it.
 */
export function mapRelation(relation: Relation, target: TargetTable | undefined): TableMap {
  if (!target)
    throw schemaChanged(relation, [
      `table ${relationLabel(relation)} does not exist on the target (created on the source during sync?)`,
    ]);
  const byName = new Map(target.columns.map((c) => [c.name, c]));
  const problems: string[] = [];
  const write: boolean[] = [];
  const identityAlways: boolean[] = [];
  const match: MatchColumn[] = [];
  const full = relation.replicaIdentity === 'full';
  for (const c of relation.columns) {
    const t = byName.get(c.name);
    identityAlways.push(t?.identityAlways ?? false);
    if (!t) {
      problems.push(`column ${c.name} exists on the source but not on the target (added on the source?)`);
      write.push(false);
    } else {
      if (!t.generated && !sameType(c, t))
        problems.push(
          `column ${c.name} has a different type on the source than on the target (${t.typeDisplay})`,
        );
      write.push(!t.generated);
    }
    const asText = [t?.typeOid, t?.elemOid, t?.baseOid].some((o) => o !== undefined && TEXT_MATCH.has(o));
    match.push({
      name: c.name,
      nullSafe: full,
      asText,
      type: t?.typeDisplay ?? 'text',
      arrayType: t?.arrayable ? `${t.typeDisplay}[]` : undefined,
    });
  }
  const sent = new Set(relation.columns.map((c) => c.name));
  for (const t of target.columns)
    if (!t.generated && !sent.has(t.name))
      problems.push(
        `column ${t.name} exists on the target but the source no longer sends it (dropped or renamed on the source?)`,
      );
  if (problems.length) throw schemaChanged(relation, problems);
  const key = relation.columns.filter((c) => c.key).map((c) => c.name);
  const batchUpdates =
    !full &&
    key.length > 0 &&
    target.uniqueIndexes !== undefined &&
    target.uniqueIndexes.every((cols) => key.every((k) => cols.includes(k)));
  const keyIndexed =
    !full &&
    key.length > 0 &&
    relation.columns.every((c, i) => !c.key || !match[i]!.asText) &&
    (target.uniqueIndexes ?? []).some((cols) => cols.length > 0 && cols.every((c) => key.includes(c)));
  const keyColumns = relation.columns.flatMap((c, i) => (c.key ? [i] : []));
  const written = write.flatMap((w, i) => (w ? [i] : []));
  return {
    relation,
    target,
    write,
    identityAlways,
    match,
    full,
    batchUpdates,
    keyIndexed,
    keyColumns,
    written,
  };
}
