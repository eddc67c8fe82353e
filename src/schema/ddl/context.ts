import type { TableDef, TypeDef } from '../../catalog/schema/types.js';
import type { Roles } from './privileges.js';

/** What DDL rendering may look up besides the object itself. Pure: built from the catalog by the planner. */
export interface DdlContext {
  readonly roles: Roles;
  /** The comment on an object (`subId` is a column number), if any. */
  comment(key: string, subId?: number): string | undefined;
  table(key: string): TableDef | undefined;
  type(key: string): TypeDef | undefined;
}

/** Strip the trailing semicolon and blank space some pg_get_*def() functions end with. */
export function bare(definition: string): string {
  return definition.replace(/[\s;]+$/, '');
}

/**
 * `WITH (...)` from reloptions entries (`fillfactor=90`, `toast.autovacuum_enabled=false`). Values that
 * are not plain words are quoted as literals.
 */
export function withOptions(options: readonly string[]): string {
  if (options.length === 0) return '';
  const parts = options.map((o) => {
    const i = o.indexOf('=');
    const key = i < 0 ? o : o.slice(0, i);
    const value = i < 0 ? undefined : o.slice(i + 1);
    if (value === undefined) return key;
    return /^[A-Za-z0-9_.+-]+$/.test(value) ? `${key}=${value}` : `${key}='${value.replaceAll("'", "''")}'`;
  });
  return ` WITH (${parts.join(', ')})`;
}
