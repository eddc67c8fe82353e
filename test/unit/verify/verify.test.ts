import { describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import type { Column, SchemaCatalog } from '../../../src/catalog/schema/types.js';
import { renderVerifyReport } from '../../../src/cli/render/verify.js';
import { bucketDigits, sampleLimit } from '../../../src/verify/compare.js';
import { compareSchema, type SchemaSide } from '../../../src/verify/schema.js';
import { bucketSql, rowsSql } from '../../../src/verify/sql.js';
import type { VerifyReport } from '../../../src/verify/types.js';
import { tableDef } from '../schema/builders.js';

const column = (name: string, type: string, notNull = false): Column => ({
  position: 1,
  name,
  type,
  notNull,
  default: undefined,
  collation: undefined,
  identity: undefined,
  identitySequence: undefined,
  generated: undefined,
  isLocal: true,
  storage: undefined,
  compression: undefined,
  statistics: undefined,
  acl: undefined,
});

function side(over: Partial<SchemaCatalog>, lastValue = '10'): SchemaSide {
  return {
    catalog: {
      serverVersionNum: 140000,
      database: {
        name: 'shop',
        owner: 'postgres',
        encoding: 'UTF8',
        collate: 'C',
        ctype: 'C',
        acl: undefined,
        comment: undefined,
      },
      schemas: [],
      extensions: [],
      collations: [],
      types: [],
      sequences: [],
      tables: [],
      views: [],
      routines: [],
      constraints: [],
      indexes: [],
      triggers: [],
      rules: [],
      policies: [],
      eventTriggers: [],
      statistics: [],
      defaultPrivileges: [],
      comments: [],
      dependencies: [],
      ...over,
    },
    sequences: [{ schema: 'app', name: 'items_id_seq', lastValue, isCalled: true }],
  };
}

describe('buckets', () => {
  it('aims at about 1,000 rows a bucket, 16 to 16^5 buckets', () => {
    expect([0, 16_000, 16_001, 256_000, 4e6, 1e12].map(bucketDigits)).toEqual([1, 1, 2, 2, 3, 5]);
  });

  it('samples the same leading buckets every time, at least one', () => {
    expect(sampleLimit(1, 100)).toBeUndefined();
    expect(sampleLimit(1, 10)).toBe('2');
    expect(sampleLimit(2, 10)).toBe('1a');
    expect(sampleLimit(3, 0.001)).toBe('001');
  });

  it('hashes rows in the source column order with every identifier quoted, no data in the SQL', () => {
    const t = { schema: 'Sales Ü', name: 'a"b', columns: ['id', 'select'], key: ['id'] };
    expect(bucketSql(t, 2, false)).toContain(
      `md5(convert_to(ROW("id", "select")::text, 'UTF8')) AS rh FROM ONLY "Sales Ü"."a""b"`,
    );
    expect(bucketSql(t, 2, true)).toContain(`WHERE substr(rh, 1, 2) COLLATE "C" < $1`);
    const keyless = { ...t, key: [] };
    expect(rowsSql(keyless, 1, false)).toMatch(/SELECT (md5\(.*\)) AS kh, \1 AS rh FROM/);
    expect(rowsSql(t, 1, true)).toContain(`"id"::text AS k0, ROW("id", "select")::text AS row`);
  });
});

describe('compareSchema', () => {
  const source = side({
    tables: [
      tableDef('pg_class:1', 'app', 'items', {
        columns: [column('id', 'integer', true), column('v', 'text'), column('gone', 'text')],
      }),
      tableDef('pg_class:2', 'app', 'other', { columns: [column('id', 'integer')] }),
    ],
    indexes: [
      {
        key: 'pg_class:5',
        tableKey: 'pg_class:1',
        schema: 'app',
        name: 'items_v',
        definition: 'CREATE INDEX items_v ON app.items USING btree (v)',
        constraintKey: undefined,
        parentKey: undefined,
      },
    ],
  });
  const target = side(
    {
      tables: [
        tableDef('pg_class:9', 'app', 'items', {
          columns: [column('id', 'bigint', true), column('v', 'text', true), column('new', 'int')],
        }),
      ],
    },
    '7',
  );

  it('names each difference of the verified tables; other tables are not looked at', () => {
    expect(compareSchema('shop', source, target, new Set(['app.items']), false)).toEqual(
      [
        'table app.items: column id: type integer on the source, bigint on the target',
        'table app.items: column v: nullable on the source, NOT NULL on the target',
        'table app.items: column gone is missing on the target',
        'table app.items: column new is only on the target',
        'index app.items_v: missing on the target',
      ].map((s) => {
        const [object, problem] = s.split(': ', 2) as [string, string];
        return { database: 'shop', object, problem: s.slice(object.length + 2) || problem };
      }),
    );
  });

  it('compares sequence values only after the cutover: target >= source', () => {
    const same = side({});
    expect(compareSchema('shop', same, side({}, '7'), new Set(), false)).toEqual([]);
    expect(compareSchema('shop', same, side({}, '7'), new Set(), true)).toEqual([
      {
        database: 'shop',
        object: 'sequence app.items_id_seq',
        problem: "value 7 on the target is behind the source's 10",
      },
    ]);
    expect(compareSchema('shop', same, side({}, '11'), new Set(), true)).toEqual([]);
  });
});

describe('renderVerifyReport', () => {
  it('prints OK and DIFFERENT per table with keys, never row data unless given, and the totals', () => {
    const base = {
      database: 'shop',
      schema: 'app',
      buckets: 16,
      bucketsCompared: 16,
      bytes: 8192,
      notes: [],
      ms: 5,
      missing: 0,
      extra: 0,
      changed: 0,
      examples: [],
    };
    const report: VerifyReport = {
      task: 'shop',
      ok: false,
      consistency: { mode: 'live', positions: { shop: '0/16B3748' }, note: 'read as of one position' },
      databases: [{ source: 'shop', target: 'shop' }],
      samplePercent: 100,
      tables: [
        {
          ...base,
          name: 'a',
          status: 'ok',
          key: ['id'],
          sourceRows: 1200,
          targetRows: 1200,
          bucketsDifferent: 0,
        },
        {
          ...base,
          name: 'Order Items',
          status: 'different',
          key: ['order', 'line'],
          sourceRows: 3,
          targetRows: 3,
          bucketsDifferent: 2,
          missing: 1,
          extra: 1,
          examples: [
            { kind: 'missing', key: { order: '1', line: '2' }, rowHash: 'ab' },
            { kind: 'extra', key: { order: '9', line: null }, rowHash: 'cd' },
          ],
        },
      ],
      schema: [],
      totals: {
        tables: 2,
        different: 1,
        sourceRows: 1203,
        targetRows: 1203,
        missing: 1,
        extra: 1,
        changed: 0,
        schemaFindings: 0,
        bytes: 16384,
      },
      durationMs: 1500,
    };
    expect(renderVerifyReport(report, new Chalk({ level: 0 }))).toBe(
      [
        'verify of task shop: read as of one position (shop at 0/16B3748)',
        'OK        app.a (1,200 rows)',
        'DIFFERENT app."Order Items" (3 rows; 1 missing on the target, 1 extra on the target)',
        '          missing "order"=1, line=2',
        '          extra   "order"=9, line=NULL',
        '',
        'DIFFERENT: 2 table(s), 1 different; 1,203 rows on the source, 1,203 on the target; 1 missing, 1 extra, 0 changed; 0 schema difference(s); 1.5 s',
      ].join('\n'),
    );
  });
});
