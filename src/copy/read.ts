import type pg from 'pg';
import { quoteQualified } from '../pg/quote.js';
import * as sql from './sql.js';
import type { CopyColumn, LargeObject, SequenceValue, SourceTable, TypeKind } from './types.js';

export type Queryable = Pick<pg.ClientBase, 'query'>;

// Rows are loosely typed on purpose: they are mapped right here and nowhere else.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

const KINDS: Record<string, TypeKind> = {
  b: 'base',
  c: 'composite',
  d: 'domain',
  e: 'enum',
  p: 'pseudo',
  r: 'range',
  m: 'multirange',
};

export interface ServerFacts {
  readonly encoding: string;
  readonly blockSize: number;
}

export async function readServerFacts(db: Queryable): Promise<ServerFacts> {
  const r = (await db.query(sql.SERVER_FACTS)).rows[0] as Row;
  return { encoding: String(r.encoding), blockSize: Number(r.block_size) };
}

/** Every user table with its columns; run inside the snapshot so it matches the rows copied. */
export async function readSourceTables(db: Queryable): Promise<readonly SourceTable[]> {
  const tables = (await db.query(sql.TABLES)).rows as Row[];
  const columns = (await db.query(sql.COLUMNS)).rows as Row[];
  const byTable = new Map<string, CopyColumn[]>();
  for (const c of columns) {
    const list = byTable.get(String(c.table_oid)) ?? [];
    list.push({
      name: String(c.name),
      typeName: String(c.type_name),
      typeOid: Number(c.type_oid),
      baseTypeOid: Number(c.base_oid),
      baseKind: KINDS[String(c.base_kind)] ?? 'base',
      baseHasBinaryIo: c.base_binary_io === true || c.base_binary_io === 't',
      generated: c.generated === true || c.generated === 't',
    });
    byTable.set(String(c.table_oid), list);
  }
  return tables.map((t) => {
    const reltuples = Number(t.reltuples);
    return {
      key: `pg_class:${t.oid}`,
      schema: String(t.schema),
      name: String(t.name),
      kind: t.kind === 'p' ? 'partitioned' : 'table',
      partitionOf: t.partition_of == null ? undefined : `pg_class:${t.partition_of}`,
      columns: byTable.get(String(t.oid)) ?? [],
      bytes: Number(t.bytes),
      // -1 (PostgreSQL 14+) or 0 with no pages: never analyzed, no estimate.
      estimatedRows: reltuples > 0 ? Math.round(reltuples) : undefined,
    };
  });
}

/**
 * Sequence values. Sequences are not transactional: this reads their current value, not the value as of
 * the snapshot. That is never behind the snapshot, so no copied row can collide with a later nextval().
 */
export async function readSequenceValues(db: Queryable): Promise<readonly SequenceValue[]> {
  const list = (await db.query(sql.SEQUENCES)).rows as Row[];
  const out: SequenceValue[] = [];
  for (const s of list) {
    const { rows } = await db.query(sql.SEQUENCE_VALUE(quoteQualified(String(s.schema), String(s.name))));
    const r = rows[0] as Row;
    out.push({
      schema: String(s.schema),
      name: String(s.name),
      lastValue: String(r.last_value),
      isCalled: r.is_called === true || r.is_called === 't',
    });
  }
  return out;
}

export interface MaterializedView {
  readonly schema: string;
  readonly name: string;
  readonly populated: boolean;
}

export async function readMaterializedViews(db: Queryable): Promise<readonly MaterializedView[]> {
  return ((await db.query(sql.MATERIALIZED_VIEWS)).rows as Row[]).map((r) => ({
    schema: String(r.schema),
    name: String(r.name),
    populated: r.populated === true || r.populated === 't',
  }));
}

export async function readLargeObjects(db: Queryable): Promise<readonly LargeObject[]> {
  return ((await db.query(sql.LARGE_OBJECTS)).rows as Row[]).map((r) => {
    const grants = (typeof r.grants === 'string' ? JSON.parse(r.grants) : r.grants) as Row[];
    return {
      oid: String(r.oid),
      owner: String(r.owner),
      defaultAcl: r.default_acl === true || r.default_acl === 't',
      grants: grants.map((g) => ({
        grantee: String(g.grantee),
        privilege: String(g.privilege),
        grantable: Boolean(g.grantable),
      })),
      comment: r.comment == null ? undefined : String(r.comment),
    };
  });
}

export async function readRoleNames(db: Queryable): Promise<ReadonlySet<string>> {
  return new Set(((await db.query(sql.TARGET_ROLES)).rows as Row[]).map((r) => String(r.rolname)));
}
