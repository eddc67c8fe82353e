import { DtsError, ExitCode } from '../errors.js';
import { relationLabel, UNCHANGED, type Value } from '../replication/change.js';
import { quoteQualified } from '../pg/quote.js';
import * as sql from './sql.js';
import type { TableMap } from './table-map.js';

/** A rendered statement and how many rows it must report (undefined: not checked). */
export interface Statement {
  readonly text: string;
  readonly rows: number | undefined;
  /** What a short row count means: the row the source changed is not on the target. */
  readonly missing?: { readonly map: TableMap; readonly what: 'update' | 'delete' };
  /** The rows of a `COPY ... FROM STDIN` statement, in text format (it is its own round trip). */
  readonly copy?: string;
}

/** Rows per multi-row statement (a bound on statement size, not on what is pending). */
const ROWS_PER_STATEMENT = 2_000;
/**
 * A run of at least this many inserts into one table goes as one COPY (a round trip of its own, so not
 * worth it for a few rows, which travel as a multi-row INSERT with the other statements).
 */
const COPY_MIN_ROWS = 100;

type Row = readonly (string | null)[];

interface UpdateGroup {
  readonly set: sql.SetColumn[];
  readonly rows: Row[];
}

/**
 * What is pending for one table since its last seal. Keyed tables keep deletes, updates and inserts
 * apart and render them in that order; a REPLICA IDENTITY FULL table keeps its statements in order.
 */
interface Segment {
  readonly map: TableMap;
  /** Keys (old and new) of every row this segment touches: a repeat seals the segment first. */
  readonly keys: Set<string>;
  readonly deletes: Row[];
  /** By changed-column set when updates may be reordered, else one group per update, in order. */
  readonly updates: Map<number | string, UpdateGroup>;
  readonly inserts: Row[];
  /** FULL tables only: statements in source order (consecutive inserts merged). */
  readonly ordered: ({ kind: 'insert'; rows: Row[] } | { kind: 'one'; statement: Statement })[];
}

/**
 * The changes of the open target transaction that are not sent yet, and how they become few statements.
 *
 * Order. The target must end in the state the source's order produces, and no statement may fail where
 * the source's did not. What is reordered, and why that is safe:
 * - Across tables (only with session_replication_role = replica, where foreign keys and ordinary triggers
 *   do not fire): a change to one table cannot affect another's rows or constraints. Without the replica
 *   role the segments are sealed whenever the table changes, so the source's order is kept. TRUNCATE and
 *   Relation messages seal everything.
 * - Within a keyed table, between two seals no key (old or new) repeats, so every change hits a different
 *   row. Deletes go first (they only free values, so they cannot make a later statement fail), inserts
 *   last (a value an insert took was free when it ran, and nothing after it in the source could take
 *   it), updates in between. Updates are one multi-row statement per changed-column set only when no
 *   unique index other than the key's could be hit (TableMap.batchUpdates; otherwise one statement each,
 *   in source order), because one statement changes its rows in any order.
 * - A change whose key repeats seals the table's segment (renders it to statements) and starts a new one.
 * - REPLICA IDENTITY FULL matches on values, not a key: its statements stay in source order, one row each
 *   (NULL-safe, one row by ctid), consecutive inserts still merged.
 */
export class Batch {
  private sealed: Statement[] = [];
  private readonly segments = new Map<TableMap, Segment>();
  private last: TableMap | undefined;
  /** Row changes and value bytes pending, for the caller's flush limits. */
  rows = 0;
  bytes = 0;

  constructor(
    /** Keep the source's order across tables (when foreign keys and triggers fire on the target). */
    private readonly keepTableOrder: boolean,
  ) {}

  get empty(): boolean {
    return this.rows === 0 && this.sealed.length === 0;
  }

  private segment(map: TableMap): Segment {
    if (this.keepTableOrder && this.last !== undefined && this.last !== map) this.sealAll();
    this.last = map;
    let s = this.segments.get(map);
    if (!s) {
      s = { map, keys: new Set(), deletes: [], updates: new Map(), inserts: [], ordered: [] };
      this.segments.set(map, s);
    }
    return s;
  }

  /**
   * The segment for a keyed change touching `key` (and `other`, the new key of an update that changed it),
   * sealed first when one of them was touched already. An undefined key touches nothing.
   */
  private keyed(map: TableMap, key: string | undefined, other?: string): Segment {
    let s = this.segment(map);
    if ((key !== undefined && s.keys.has(key)) || (other !== undefined && s.keys.has(other))) {
      this.seal(s);
      s = this.segment(map);
    }
    if (key !== undefined) s.keys.add(key);
    if (other !== undefined) s.keys.add(other);
    return s;
  }

  private count(values: readonly (Value | undefined)[]): void {
    this.rows++;
    for (const v of values) if (typeof v === 'string') this.bytes += v.length;
  }

  insert(map: TableMap, values: readonly Value[]): void {
    const { written } = map;
    const row = new Array<string | null>(written.length);
    for (let j = 0; j < written.length; j++) {
      const v = values[written[j]!];
      if (v === UNCHANGED || v === undefined)
        throw new Error(`apply: INSERT into ${relationLabel(map.relation)} without a value`);
      row[j] = v;
    }
    this.count(values);
    if (map.full) {
      const s = this.segment(map);
      const tail = s.ordered.at(-1);
      if (tail?.kind === 'insert') tail.rows.push(row);
      else s.ordered.push({ kind: 'insert', rows: [row] });
      return;
    }
    // A key column the target fills itself (a generated one) gives no key here: keep the order then.
    this.keyed(map, keyOf(map, values)).inserts.push(row);
  }

  update(map: TableMap, old: readonly Value[] | undefined, values: readonly Value[]): void {
    const { columns } = map.relation;
    const set: number[] = [];
    // The changed-column set as a number (a bit per column) while the table has few enough columns.
    let signature: number | string = 0;
    for (const i of map.written) {
      const v = values[i];
      // An unchanged TOASTed value is not sent: leave the column alone, never write NULL over it.
      if (v === undefined || v === UNCHANGED) continue;
      // The key did not change when the old key is not sent: no need to set it.
      if (!map.full && columns[i]!.key && old === undefined) continue;
      if (map.identityAlways[i]) {
        // The target refuses any value but DEFAULT for an ALWAYS identity column in an UPDATE. An unchanged
        // one is left out; a changed one (only `SET id = DEFAULT` on the source can do that) cannot be
        // reproduced, so stop rather than let the target drift.
        const before = old?.[i];
        if (before === undefined || before === UNCHANGED || before === v) continue;
        throw new DtsError(
          'identity-changed',
          `source: an UPDATE of ${relationLabel(map.relation)} changed its GENERATED ALWAYS identity column ${columns[i]!.name}, which the target cannot take`,
          {
            hint: 'on the target, ALTER TABLE ... ALTER COLUMN ... SET GENERATED BY DEFAULT for the migration, then run dts again',
            exitCode: ExitCode.target,
          },
        );
      }
      set.push(i);
      if (i < 31) signature = (signature as number) | (1 << i);
    }
    if (map.full) {
      const id = identity(map, old);
      if (set.length === 0) return;
      this.count(values);
      const text = sql.updateOne(
        map.target.schema,
        map.target.name,
        set.map((i) => ({ name: columns[i]!.name, value: values[i] as string | null })),
        id.match,
        id.values,
        true,
        map.target.partitioned,
      );
      this.one(map, text, 'update');
      return;
    }
    const key = keyValues(map, old ?? values);
    if (set.length === 0) return;
    this.count(values);
    const keyText = keyString(key);
    const next = old === undefined ? undefined : keyOf(map, values);
    const s = this.keyed(map, keyText, next !== keyText ? next : undefined);
    if (!map.batchUpdates) signature = s.updates.size;
    else if (columns.length > 31) signature = set.join(',');
    let group = s.updates.get(signature);
    if (!group) {
      // A match column is named after its source column and carries the target type: what SET needs.
      group = { set: set.map((i) => map.match[i]!), rows: [] };
      s.updates.set(signature, group);
    }
    const row = new Array<string | null>(key.length + set.length);
    for (let j = 0; j < key.length; j++) row[j] = key[j]!;
    for (let j = 0; j < set.length; j++) row[key.length + j] = values[set[j]!] as string | null;
    group.rows.push(row);
  }

  /** A REPLICA IDENTITY FULL change: one statement that must touch exactly one row, kept in order. */
  private one(map: TableMap, text: string, what: 'update' | 'delete'): void {
    this.segment(map).ordered.push({ kind: 'one', statement: { text, rows: 1, missing: { map, what } } });
  }

  delete(map: TableMap, old: readonly Value[]): void {
    if (map.full) {
      const id = identity(map, old);
      this.count(old);
      const text = sql.deleteOne(
        map.target.schema,
        map.target.name,
        id.match,
        id.values,
        true,
        map.target.partitioned,
      );
      this.one(map, text, 'delete');
      return;
    }
    const key = keyValues(map, old);
    this.count(old);
    this.keyed(map, keyString(key)).deletes.push(key);
  }

  truncate(maps: readonly TableMap[], restartIdentity: boolean, cascade: boolean): void {
    this.sealAll();
    this.rows++;
    const tables = maps.map((m) => m.target);
    this.sealed.push({ text: sql.truncate(tables, restartIdentity, cascade), rows: undefined });
  }

  /** Render every pending segment, in the order the tables were first seen. */
  sealAll(): void {
    for (const s of [...this.segments.values()]) this.seal(s);
    this.last = undefined;
  }

  private seal(s: Segment): void {
    this.segments.delete(s.map);
    const { map } = s;
    const { schema, name } = map.target;
    const key = keyMatch(map);
    const joins = !map.keyIndexed && (s.deletes.length > 0 || s.updates.size > 0);
    if (joins) for (const text of sql.JOINS_ON) this.sealed.push({ text, rows: undefined });
    for (const rows of chunks(s.deletes))
      this.sealed.push({
        text: sql.deleteValues(schema, name, key, rows),
        rows: rows.length,
        missing: { map, what: 'delete' },
      });
    for (const g of s.updates.values())
      for (const rows of chunks(g.rows))
        this.sealed.push({
          text: sql.updateValues(schema, name, key, g.set, rows),
          rows: rows.length,
          missing: { map, what: 'update' },
        });
    if (joins) for (const text of sql.JOINS_OFF) this.sealed.push({ text, rows: undefined });
    this.pushInserts(map, s.inserts);
    for (const op of s.ordered) {
      if (op.kind === 'insert') this.pushInserts(map, op.rows);
      else this.sealed.push(op.statement);
    }
  }

  private pushInserts(map: TableMap, rows: readonly Row[]): void {
    if (rows.length === 0) return;
    const cols = map.relation.columns.filter((_, i) => map.write[i]).map((c) => c.name);
    const { schema, name } = map.target;
    if (cols.length === 0) {
      for (const _ of rows) this.sealed.push({ text: `INSERT INTO ${quoted(map)} DEFAULT VALUES`, rows: 1 });
      return;
    }
    if (rows.length >= COPY_MIN_ROWS) {
      let data = '';
      for (const row of rows) data += sql.copyRow(row);
      this.sealed.push({ text: sql.copyIn(schema, name, cols), rows: rows.length, copy: data });
      return;
    }
    const overriding = map.identityAlways.some((always, i) => always && map.write[i]);
    for (const part of chunks(rows))
      this.sealed.push({
        text: sql.insertValues(schema, name, cols, part.map(sql.tuple), overriding),
        rows: part.length,
      });
  }

  /** Seal everything and hand over the statements, in the order they must run; the batch is empty after. */
  take(): Statement[] {
    this.sealAll();
    const out = this.sealed;
    this.sealed = [];
    this.rows = 0;
    this.bytes = 0;
    return out;
  }

  /** Forget everything pending (the target transaction is rolled back). */
  clear(): void {
    this.segments.clear();
    this.sealed = [];
    this.last = undefined;
    this.rows = 0;
    this.bytes = 0;
  }
}

function quoted(map: TableMap): string {
  return quoteQualified(map.target.schema, map.target.name);
}

function* chunks<T>(rows: readonly T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) yield rows.slice(i, i + ROWS_PER_STATEMENT);
}

function keyMatch(map: TableMap): sql.MatchColumn[] {
  return map.relation.columns.flatMap((c, i) => (c.key ? [map.match[i]!] : []));
}

/** The key of a row from a full tuple, or undefined when a key value is missing. */
function keyOf(map: TableMap, values: readonly Value[]): string | undefined {
  const { keyColumns } = map;
  if (keyColumns.length === 1) {
    const v = values[keyColumns[0]!];
    return v === undefined || v === UNCHANGED ? undefined : (v ?? '');
  }
  const key: (string | null)[] = [];
  for (const i of keyColumns) {
    const v = values[i];
    if (v === undefined || v === UNCHANGED) return undefined;
    key.push(v);
  }
  return key.length ? keyString(key) : undefined;
}

/**
 * A row's key values as one string, to tell keys apart: joined by NUL, which no text value can contain
 * (a key of one column is its value as it is). Key values are never NULL.
 */
function keyString(values: readonly (string | null)[]): string {
  return values.length === 1 ? (values[0] ?? '') : values.join('\0');
}

function noIdentity(map: TableMap, what: string): DtsError {
  return new DtsError('no-identity', `source: a change to ${relationLabel(map.relation)} ${what}`, {
    hint: 'give the table a primary key or REPLICA IDENTITY FULL on the source',
    exitCode: ExitCode.source,
  });
}

/** A keyed table's key values, from the old key when sent, else the new row. */
function keyValues(map: TableMap, row: readonly Value[]): (string | null)[] {
  const out: (string | null)[] = [];
  for (const i of map.keyColumns) {
    const v = row[i];
    if (v !== undefined && v !== UNCHANGED) out.push(v);
  }
  if (out.length === 0) throw noIdentity(map, 'carries no replica identity values');
  if (out.length !== map.keyColumns.length) throw noIdentity(map, 'lacks a value of its replica identity');
  return out;
}

/** A REPLICA IDENTITY FULL row's identity: every column of the old tuple that was sent. */
function identity(map: TableMap, old: readonly Value[] | undefined) {
  const match: sql.MatchColumn[] = [];
  const vals: (string | null)[] = [];
  map.relation.columns.forEach((_, i) => {
    const v = old?.[i];
    // A value not sent (an unchanged TOASTed one in a FULL old tuple) cannot be compared: the other
    // columns still pick a row with exactly those values, and ctid makes it one.
    if (v === undefined || v === UNCHANGED) return;
    match.push(map.match[i]!);
    vals.push(v);
  });
  if (match.length === 0) throw noIdentity(map, 'carries no replica identity values');
  return { match, values: vals };
}
