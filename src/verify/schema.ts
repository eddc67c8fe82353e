import type pg from 'pg';
import { readServerInfo } from '../catalog/server.js';
import { readSchemaCatalog } from '../catalog/schema/read.js';
import type { SchemaCatalog } from '../catalog/schema/types.js';
import { readSequenceValues } from '../copy/read.js';
import type { SequenceValue } from '../copy/types.js';
import type { SchemaFinding } from './types.js';

/** What the schema comparison reads of one side (outside the data snapshots: catalogs change rarely). */
export interface SchemaSide {
  readonly catalog: SchemaCatalog;
  readonly sequences: readonly SequenceValue[];
}

export async function readSchemaSide(client: pg.Client): Promise<SchemaSide> {
  const info = await readServerInfo(client);
  return {
    catalog: await readSchemaCatalog(client, info.versionNum),
    sequences: await readSequenceValues(client),
  };
}

/**
 * Compare the structure of the verified tables and the sequences (pure). For each table of `tables`
 * (`schema.name`): the columns (name, type, NOT NULL), the constraints (name, kind, definition) and the
 * indexes (name, definition). Every sequence of the source must exist on the target; with
 * `sequenceValues` (after the cutover, when dts has set them) its value must be at least the source's.
 * Objects are named by schema and name, never by oid, so two major versions compare.
 */
export function compareSchema(
  database: string,
  source: SchemaSide,
  target: SchemaSide,
  tables: ReadonlySet<string>,
  sequenceValues: boolean,
): SchemaFinding[] {
  const findings: SchemaFinding[] = [];
  const add = (object: string, problem: string) => findings.push({ database, object, problem });
  const tableName = (c: SchemaCatalog) => {
    const byKey = new Map<string, string>(c.tables.map((t) => [t.key, `${t.schema}.${t.name}`]));
    return (key: string) => byKey.get(key) ?? key;
  };
  const sName = tableName(source.catalog);
  const tName = tableName(target.catalog);
  const targetTables = new Map<string, (typeof target.catalog.tables)[number]>(
    target.catalog.tables.map((t) => [`${t.schema}.${t.name}`, t]),
  );
  for (const s of source.catalog.tables) {
    const name = `${s.schema}.${s.name}`;
    if (!tables.has(name)) continue;
    const t = targetTables.get(name);
    const object = `table ${name}`;
    if (!t) {
      add(object, 'missing on the target');
      continue;
    }
    const tColumns = new Map(t.columns.map((c) => [c.name, c] as const));
    for (const c of s.columns) {
      const d = tColumns.get(c.name);
      if (!d) add(object, `column ${c.name} is missing on the target`);
      else {
        if (d.type !== c.type)
          add(object, `column ${c.name}: type ${c.type} on the source, ${d.type} on the target`);
        if (d.notNull !== c.notNull)
          add(
            object,
            `column ${c.name}: ${c.notNull ? 'NOT NULL' : 'nullable'} on the source, ${d.notNull ? 'NOT NULL' : 'nullable'} on the target`,
          );
      }
    }
    for (const d of t.columns)
      if (!s.columns.some((c) => c.name === d.name)) add(object, `column ${d.name} is only on the target`);
  }
  const constraints = (c: SchemaCatalog, name: (k: string) => string) =>
    new Map<string, string>(
      c.constraints
        .filter((x) => tables.has(name(x.tableKey)))
        .map((x) => [`${name(x.tableKey)}.${x.name}`, `${x.type}: ${x.definition}`]),
    );
  diffMaps(constraints(source.catalog, sName), constraints(target.catalog, tName), 'constraint', add);
  const indexes = (c: SchemaCatalog, name: (k: string) => string) =>
    new Map<string, string>(
      c.indexes
        .filter((x) => tables.has(name(x.tableKey)))
        .map((x) => [`${x.schema}.${x.name}`, x.definition]),
    );
  diffMaps(indexes(source.catalog, sName), indexes(target.catalog, tName), 'index', add);
  const targetSequences = new Map<string, SequenceValue>(
    target.sequences.map((q) => [`${q.schema}.${q.name}`, q]),
  );
  for (const q of source.sequences) {
    const name = `${q.schema}.${q.name}`;
    const t = targetSequences.get(name);
    if (!t) add(`sequence ${name}`, 'missing on the target');
    else if (sequenceValues && BigInt(t.lastValue) < BigInt(q.lastValue))
      add(`sequence ${name}`, `value ${t.lastValue} on the target is behind the source's ${q.lastValue}`);
  }
  return findings;
}

function diffMaps(
  source: ReadonlyMap<string, string>,
  target: ReadonlyMap<string, string>,
  kind: string,
  add: (object: string, problem: string) => void,
): void {
  for (const [name, def] of source) {
    const other = target.get(name);
    if (other === undefined) add(`${kind} ${name}`, 'missing on the target');
    else if (other !== def) add(`${kind} ${name}`, `source: ${def}; target: ${other}`);
  }
  for (const name of target.keys()) if (!source.has(name)) add(`${kind} ${name}`, 'only on the target');
}
