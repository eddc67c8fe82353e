import type { Selection } from '../task/types.js';

/** A name selection patterns are matched against: the unquoted `schema.name`. */
export interface Named {
  readonly schema: string;
  readonly name: string;
}

/** One database's effective patterns: its own plus the task-wide ones. */
export interface DatabasePatterns {
  readonly database: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

/** A pattern that selected or excluded nothing: a typo the user must hear about. */
export interface UnmatchedPattern {
  /** Undefined for task-wide patterns (they matched nothing in any database). */
  readonly database: string | undefined;
  readonly pattern: string;
  readonly kind: 'include' | 'exclude';
}

/** Schemas dts never migrates: the catalogs, TOAST and temp schemas, and its own state. */
export function isSystemSchema(schema: string): boolean {
  return (
    schema === 'pg_catalog' ||
    schema === 'information_schema' ||
    schema === '_dts' ||
    schema.startsWith('pg_toast') ||
    schema.startsWith('pg_temp_')
  );
}

/**
 * A glob as a RegExp over the whole name: `*` is any run of characters (dots too, so `*.orders` and
 * `public.*` both work), `?` exactly one; everything else is literal and case-sensitive, like identifiers.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'su');
}

export function matchesGlob(pattern: string, text: string): boolean {
  return globToRegExp(pattern).test(text);
}

const qualified = (n: Named) => `${n.schema}.${n.name}`;

/**
 * The databases a task selects. `all` is every connectable non-template database of the source except
 * dts' own `_dts`; a list is taken as given, and names the source lacks come back in `unknown`.
 */
export function resolveDatabases(
  selection: Selection,
  sourceDatabases: readonly {
    readonly name: string;
    readonly allowConnections: boolean;
    readonly isTemplate: boolean;
  }[],
): { readonly databases: readonly DatabasePatterns[]; readonly unknown: readonly string[] } {
  const withGlobal = (database: string, include: readonly string[], exclude: readonly string[]) => ({
    database,
    include: [...include, ...selection.include],
    exclude: [...exclude, ...selection.exclude],
  });
  if (selection.databases === 'all') {
    const names = sourceDatabases
      .filter((d) => d.allowConnections && !d.isTemplate && d.name !== '_dts')
      .map((d) => d.name);
    return { databases: names.map((n) => withGlobal(n, [], [])), unknown: [] };
  }
  const known = new Set(sourceDatabases.map((d) => d.name));
  const present = selection.databases.filter((d) => known.has(d.name));
  return {
    databases: present.map((d) => withGlobal(d.name, d.include, d.exclude)),
    unknown: selection.databases.filter((d) => !known.has(d.name)).map((d) => d.name),
  };
}

/**
 * The objects of one database that the patterns select: outside system schemas, matching an include
 * (or every object when there is none) and no exclude. Also returns which of the patterns matched at
 * least one object, so callers can report the ones that matched nothing.
 */
export function selectObjects<T extends Named>(
  objects: readonly T[],
  patterns: DatabasePatterns,
): { readonly selected: readonly T[]; readonly matched: ReadonlySet<string> } {
  const matched = new Set<string>();
  const include = patterns.include.map((p) => [`include:${p}`, globToRegExp(p)] as const);
  const exclude = patterns.exclude.map((p) => [`exclude:${p}`, globToRegExp(p)] as const);
  const selected: T[] = [];
  for (const o of objects) {
    if (isSystemSchema(o.schema)) continue;
    const name = qualified(o);
    let included = include.length === 0;
    for (const [key, re] of include) {
      if (re.test(name)) {
        matched.add(key);
        included = true;
      }
    }
    let excluded = false;
    for (const [key, re] of exclude) {
      if (re.test(name)) {
        matched.add(key);
        excluded = true;
      }
    }
    if (included && !excluded) selected.push(o);
  }
  return { selected, matched };
}

/**
 * Patterns that matched nothing: a database's own patterns are judged in that database, task-wide ones
 * across every database (a global `public.audit_*` need only exist somewhere).
 */
export function unmatchedPatterns(
  selection: Selection,
  perDatabase: readonly { readonly patterns: DatabasePatterns; readonly matched: ReadonlySet<string> }[],
): readonly UnmatchedPattern[] {
  const out: UnmatchedPattern[] = [];
  const own = (db: string) =>
    selection.databases === 'all' ? undefined : selection.databases.find((d) => d.name === db);
  for (const { patterns, matched } of perDatabase) {
    const mine = own(patterns.database);
    for (const kind of ['include', 'exclude'] as const) {
      for (const p of mine?.[kind] ?? []) {
        if (!matched.has(`${kind}:${p}`)) out.push({ database: patterns.database, pattern: p, kind });
      }
    }
  }
  for (const kind of ['include', 'exclude'] as const) {
    for (const p of selection[kind]) {
      if (!perDatabase.some((d) => d.matched.has(`${kind}:${p}`)))
        out.push({ database: undefined, pattern: p, kind });
    }
  }
  return out;
}

/**
 * Where a source database lands on the target: a task that lists exactly one database puts it into the
 * target endpoint's database (so `shop` can move into `shop_v2`); several, or `all`, keep their names.
 * Validate and the migration stages both use this, so they judge and write the same database.
 */
export function targetDatabaseName(
  selection: Selection,
  targetEndpointDatabase: string,
  sourceDatabase: string,
): string {
  return selection.databases !== 'all' && selection.databases.length === 1
    ? targetEndpointDatabase
    : sourceDatabase;
}
