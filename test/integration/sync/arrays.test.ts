/**
 * Batched updates and deletes carry their rows as one array literal per column (apply/sql.ts,
 * updateValues) when every column's type can travel in an array. Checked here on a real target, without
 * the stream: which columns the catalog lets go that way, and that every value of the type matrix arrives
 * exactly through the arrays.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTargetTable } from '../../../src/apply/applier.js';
import { deleteValues, SESSION_SETTINGS, updateValues, type SetColumn } from '../../../src/apply/sql.js';
import { mapRelation, type TargetTable } from '../../../src/apply/table-map.js';
import type { Relation } from '../../../src/replication/change.js';
import { OUTPUT_SETTINGS } from '../../../src/replication/sql.js';
import { SUPERUSER_PASSWORD, startServer, type TestServer } from '../../harness/pg-server.js';
import { BUILTIN, CUSTOM, CUSTOM_DDL, matrixInsert, matrixTable } from '../fidelity/matrix.js';

let server: TestServer;
let db: pg.Client;
const CASES = [...BUILTIN, ...CUSTOM];
const IDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

beforeAll(async () => {
  server = await startServer({ version: 17 });
  await server.query(`CREATE DATABASE arrays`);
  // Values as text, the way the apply session reads nothing but row counts and the stream sends text.
  db = new pg.Client({
    host: server.host,
    port: server.port,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    database: 'arrays',
    types: { getTypeParser: () => (v: string) => v },
  });
  await db.connect();
  await db.query(
    [
      CUSTOM_DDL,
      // `custom`: the name the matrix's regclass values refer to.
      matrixTable('custom', CASES),
      matrixTable('dst', CASES),
      `CREATE DOMAIN int_list AS integer[];
       CREATE DOMAIN pair_d AS pair;
       CREATE TABLE "Odd ""Names""" ("Key Col" bigint PRIMARY KEY, il int_list, grid integer[], bx box, v text,
                                     pd pair_d, ts timestamp(3) with time zone,
                                     iv interval day to second(3), nm numeric(5,2))`,
    ].join('\n'),
  );
  await db.query(matrixInsert('custom', CASES, IDS));
  await db.query(`INSERT INTO dst (id) SELECT unnest($1::int[])`, [`{${IDS.join(',')}}`]);
  for (const s of [...OUTPUT_SETTINGS, ...SESSION_SETTINGS]) await db.query(s);
});

afterAll(async () => {
  await db?.end();
  await server?.stop();
});

/** The source Relation a table of this same server would be described by (keyed by `key`). */
function relationOf(t: TargetTable, key: string): Relation {
  return {
    id: 1,
    schema: t.schema,
    name: t.name,
    replicaIdentity: 'default',
    columns: t.columns.map((c) => ({
      name: c.name,
      typeOid: c.typeOid,
      typeMod: c.typeMod,
      typeName: c.typeName,
      key: c.name === key,
    })),
  };
}

describe('batched updates and deletes from arrays (17)', () => {
  it('sends arrays only for types that survive them: not arrays, composites, domains over them, box', async () => {
    const t = (await readTargetTable(db, 'public', 'Odd "Names"'))!;
    const map = mapRelation(relationOf(t, 'Key Col'), t);
    expect(map.match.map((m) => [m.name, m.arrayType])).toEqual([
      ['Key Col', 'bigint[]'],
      ['il', undefined],
      ['grid', undefined],
      ['bx', undefined],
      ['v', 'text[]'],
      ['pd', undefined],
      // Type modifiers stay in the array type (format_type's spelling takes `[]` on 14 to 18).
      ['ts', 'timestamp(3) with time zone[]'],
      ['iv', 'interval day to second(3)[]'],
      ['nm', 'numeric(5,2)[]'],
    ]);
    // A key, text and the modified types: arrays. With the box, the statement stays on VALUES.
    const key = [map.match[0]!];
    const set = (i: number): SetColumn => map.match[i]!;
    const v = set(4);
    await db.query(
      `INSERT INTO "Odd ""Names""" VALUES (1, '{1,2}', '{{1,2},{3,4}}', '(1,1),(0,0)', 'a', NULL, NULL, NULL, NULL)`,
    );
    const viaArrays = updateValues(
      'public',
      'Odd "Names"',
      key,
      [v, set(6), set(7), set(8)],
      [['1', `b "c" \\ 'd'`, '2026-12-04 10:11:12.123+00', '1 day 02:03:04.567', '-999.99']],
    );
    expect(viaArrays).toContain('FROM unnest(');
    expect((await db.query(viaArrays)).rowCount).toBe(1);
    expect((await db.query(`SELECT v, ts::text, iv::text, nm::text FROM "Odd ""Names"""`)).rows).toEqual([
      { v: `b "c" \\ 'd'`, ts: '2026-12-04 10:11:12.123+00', iv: '1 day 02:03:04.567', nm: '-999.99' },
    ]);
    const bx: SetColumn = { name: 'bx', type: map.match[3]!.type };
    const viaValues = updateValues('public', 'Odd "Names"', key, [v, bx], [['1', 'e', '(2,2),(1,1)']]);
    expect(viaValues).toContain('FROM (VALUES');
    expect((await db.query(viaValues)).rowCount).toBe(1);
    expect((await db.query(`SELECT v, bx::text FROM "Odd ""Names"""`)).rows).toEqual([
      { v: 'e', bx: '(2,2),(1,1)' },
    ]);
  });

  it('carries every value of the type matrix exactly through arrays, and deletes by arrays of keys', async () => {
    const t = (await readTargetTable(db, 'public', 'dst'))!;
    const map = mapRelation(relationOf(t, 'id'), t);
    const cols = t.columns.map((c) => c.name);
    const set = map.match.filter((m) => m.name !== 'id' && m.arrayType !== undefined);
    // Every column of the matrix but the arrays (unnest would flatten them), the composites (it would
    // spread them over several columns) and the box (its array delimiter is a semicolon).
    const kept = cols.filter((c) => !['id', 'bx', 'pair', 'nest'].includes(c) && !c.endsWith('_a'));
    expect(set.map((m) => m.name)).toEqual(kept);
    const src = (await db.query(`SELECT * FROM custom ORDER BY id`)).rows as Record<string, string | null>[];
    const statement = updateValues(
      'public',
      'dst',
      [map.match[0]!],
      set.map((m) => ({ name: m.name, type: m.type, arrayType: m.arrayType! })),
      src.map((r) => [r.id!, ...set.map((m) => r[m.name]!)]),
    );
    expect(statement).toContain('FROM unnest(');
    expect((await db.query(statement)).rowCount).toBe(IDS.length);
    // Row for row, each column's text form (types without equality, json or point, compare that way).
    const rows = (table: string) =>
      db.query(`SELECT id, ${set.map((m) => `"${m.name}"::text`).join(', ')} FROM ${table} ORDER BY id`);
    expect((await rows('dst')).rows).toEqual((await rows('custom')).rows);

    const deleted = deleteValues('public', 'dst', [map.match[0]!], [['1'], ['5'], ['11']]);
    expect(deleted).toContain('USING unnest(');
    expect((await db.query(deleted)).rowCount).toBe(3);
    expect((await db.query(`SELECT id FROM dst ORDER BY id`)).rows.map((r) => Number(r.id))).toEqual(
      IDS.filter((i) => ![1, 5, 11].includes(i)),
    );
  });
});
