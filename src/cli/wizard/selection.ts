import type { TaskFile } from '../../task/file-schema.js';

/** One ticked line of the schema/table pick: a whole schema, or one table. */
export type Pick = { readonly schema: string; readonly table?: string };

/** What the person chose for one database: everything in it, or these include patterns. */
export interface DatabasePick {
  readonly name: string;
  /** Empty: the whole database. */
  readonly include: readonly string[];
}

/**
 * Ticked schemas and tables -> include patterns over `schema.table`. A whole schema becomes `schema.*`
 * and swallows its own tables, so the file does not list what a pattern already covers.
 */
export function includePatterns(picks: readonly Pick[]): string[] {
  const whole = new Set(picks.filter((p) => p.table === undefined).map((p) => p.schema));
  const patterns: string[] = [];
  for (const p of picks) {
    const pattern = p.table === undefined ? `${p.schema}.*` : `${p.schema}.${p.table}`;
    if (p.table !== undefined && whole.has(p.schema)) continue;
    if (!patterns.includes(pattern)) patterns.push(pattern);
  }
  return patterns;
}

/** Comma- or space-separated patterns as typed -> a clean list. */
export function splitPatterns(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** The wizard's answers -> the `objects:` section. Databases are always listed, so the file says what moves. */
export function objectsFromPicks(
  databases: 'all' | readonly DatabasePick[],
  exclude: readonly string[],
): NonNullable<TaskFile['objects']> {
  const list =
    databases === 'all'
      ? ('all' as const)
      : databases.map((d) => (d.include.length === 0 ? d.name : { name: d.name, include: [...d.include] }));
  return { databases: list, ...(exclude.length > 0 ? { exclude: [...exclude] } : {}) };
}
