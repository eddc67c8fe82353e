import { displayName } from '../catalog/display.js';
import type { Fact, Relation, SourceDatabase } from '../catalog/types.js';
import type { Mode, Task } from '../task/types.js';
import type { DatabaseFacts, Facts } from './facts.js';
import type { Finding, Severity } from './report.js';

/** A finding before the runner stamps the check id on it. */
export type Draft = Omit<Finding, 'check'>;

/**
 * One check: pure data plus a pure assessor. `assess` returns the problems (and notes) it sees; when it
 * returns nothing the runner records one `pass` finding with `passMessage`. An assessor that needs a
 * fact that could not be read calls `need`, which makes the whole check `error` ("not run: ...").
 */
export interface Check {
  readonly id: string;
  readonly title: string;
  /** For people reading the docs: when the check fails, warns or notes (README's check table is built from it). */
  readonly severities: string;
  /** The modes the check applies to; in other modes it is left out of the report. */
  readonly modes: readonly Mode[];
  readonly passMessage: string;
  assess(facts: Facts, task: Task): readonly Draft[];
}

export const ALL_MODES: readonly Mode[] = ['structure', 'full', 'full+incremental'];
/** Modes that copy data from a slot's exported snapshot. */
export const DATA_MODES: readonly Mode[] = ['full', 'full+incremental'];
export const INCREMENTAL: readonly Mode[] = ['full+incremental'];

/** Thrown by `need` when a fact is missing; the runner turns it into one `error` finding. */
export class NotRun extends Error {
  override readonly name = 'NotRun';
}

export function need<T>(f: Fact<T>): T {
  if (!f.ok) throw new NotRun(f.reason);
  return f.value;
}

export const finding = (severity: Severity, message: string, object?: string, fix?: string): Draft => ({
  severity,
  message,
  ...(object === undefined ? {} : { object }),
  ...(fix === undefined ? {} : { fix }),
});

/** `db.schema.name` the way PostgreSQL would print each part. */
export const relName = (db: string, r: { schema: string; name: string }): string =>
  displayName(db, r.schema, r.name);

/**
 * Run `fn` for every selected database whose source facts were read; a database whose facts are
 * missing yields one `error` finding instead, so the other databases are still judged.
 */
export function perDatabase(
  facts: Facts,
  fn: (db: DatabaseFacts, source: SourceDatabase) => readonly Draft[],
): Draft[] {
  const out: Draft[] = [];
  for (const db of need(facts.selection).databases) {
    if (!db.source.ok) out.push(finding('error', `not run: ${db.source.reason}`, displayName(db.name)));
    else out.push(...fn(db, db.source.value));
  }
  return out;
}

/** Selected relations that hold rows dts copies (tables and partitioned tables, not views or sequences). */
export const selectedTables = (db: DatabaseFacts): Relation[] =>
  db.selected.filter((r) => r.kind === 'table' || r.kind === 'partitioned table');

/** Join names for a message, shortening long lists: `a, b, c and 4 more`. */
export function list(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export const plural = (n: number, word: string, words = `${word}s`): string =>
  `${n} ${n === 1 ? word : words}`;
