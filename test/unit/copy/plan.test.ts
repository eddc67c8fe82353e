import { describe, expect, it } from 'vitest';
import {
  binaryProblem,
  automaticSplitBytes,
  blockRanges,
  MIN_AUTO_SPLIT_BYTES,
  chooseFormat,
  copyInSql,
  copyOutSql,
  MAX_PARTS,
  planCopy,
  rangePredicate,
} from '../../../src/copy/plan.js';
import type { CopyColumn, SourceTable } from '../../../src/copy/types.js';

const col = (name: string, over: Partial<CopyColumn> = {}): CopyColumn => ({
  name,
  typeName: 'integer',
  typeOid: 23,
  baseTypeOid: 23,
  baseKind: 'base',
  baseHasBinaryIo: true,
  generated: false,
  ...over,
});

let oid = 1000;
const table = (schema: string, name: string, over: Partial<SourceTable> = {}): SourceTable => ({
  key: `pg_class:${oid++}`,
  schema,
  name,
  kind: 'table',
  partitionOf: undefined,
  columns: [col('id')],
  bytes: 8192,
  estimatedRows: 10,
  ...over,
});

const everything = { database: 'db', include: [], exclude: [] };
const input = (tables: SourceTable[], over = {}) => ({
  tables,
  patterns: everything,
  splitTableBytes: 1 << 30,
  parallel: 2,
  blockSize: 8192,
  sameEncoding: true,
  ...over,
});

describe('COPY statements', () => {
  const odd = {
    schema: 'Sales Ünïcode',
    name: 'Order Items',
    columns: ['select', 'a"b', 'Größe', 'plain'],
    format: 'binary' as const,
  };

  it('quotes every identifier, whole table on the source', () => {
    expect(copyOutSql(odd, undefined)).toBe(
      'COPY "Sales Ünïcode"."Order Items" ("select", "a""b", "Größe", "plain") TO STDOUT WITH (FORMAT binary)',
    );
  });

  it('a range is a query with FROM ONLY and a TID range', () => {
    expect(copyOutSql({ ...odd, format: 'text' }, { from: 10, to: 20 })).toBe(
      'COPY (SELECT "select", "a""b", "Größe", "plain" FROM ONLY "Sales Ünïcode"."Order Items" ' +
        "WHERE ctid >= '(10,0)'::pg_catalog.tid AND ctid < '(20,0)'::pg_catalog.tid) TO STDOUT WITH (FORMAT text)",
    );
  });

  it('the first range has no lower bound, the last no upper bound', () => {
    expect(rangePredicate({ from: undefined, to: 5 })).toBe("ctid < '(5,0)'::pg_catalog.tid");
    expect(rangePredicate({ from: 5, to: undefined })).toBe("ctid >= '(5,0)'::pg_catalog.tid");
  });

  it('target side: FREEZE only when asked (after TRUNCATE in the same transaction)', () => {
    expect(
      copyInSql({ schema: 'app', name: 'select', columns: ['from', 'to'], format: 'binary' }, true),
    ).toBe('COPY "app"."select" ("from", "to") FROM STDIN WITH (FORMAT binary, FREEZE)');
    expect(copyInSql({ schema: 'app', name: 'a"b', columns: ['x'], format: 'text' }, false)).toBe(
      'COPY "app"."a""b" ("x") FROM STDIN WITH (FORMAT text)',
    );
  });

  it('a table whose every column is generated copies rows without columns', () => {
    const t = { schema: 's', name: 't', columns: [], format: 'text' as const };
    expect(copyOutSql(t, undefined)).toBe('COPY "s"."t" TO STDOUT WITH (FORMAT text)');
    expect(copyOutSql(t, { from: 1, to: undefined })).toBe(
      `COPY (SELECT FROM ONLY "s"."t" WHERE ctid >= '(1,0)'::pg_catalog.tid) TO STDOUT WITH (FORMAT text)`,
    );
    expect(copyInSql(t, false)).toBe('COPY "s"."t" FROM STDIN WITH (FORMAT text)');
  });
});

describe('format choice', () => {
  it.each([
    ['a built-in scalar', col('a'), undefined],
    [
      'a built-in array (element OIDs are the same everywhere)',
      col('a', { typeOid: 1007, baseTypeOid: 1007 }),
      undefined,
    ],
    [
      'an enum (sent as its label)',
      col('a', { typeOid: 16500, baseTypeOid: 16500, baseKind: 'enum' }),
      undefined,
    ],
    [
      'a domain over a built-in type',
      col('a', { typeOid: 16600, baseTypeOid: 1700, baseKind: 'base', typeName: 'app.positive_money' }),
      undefined,
    ],
  ])('binary for %s', (_what, column, problem) => {
    expect(binaryProblem(column)).toBe(problem);
  });

  it.each([
    ['an array of an enum', col('tags', { typeOid: 16501, baseTypeOid: 16501, typeName: 'app.mood[]' })],
    [
      'a composite',
      col('addr', { typeOid: 16700, baseTypeOid: 16700, baseKind: 'composite', typeName: 'app.address' }),
    ],
    ['an extension type', col('h', { typeOid: 16800, baseTypeOid: 16800, typeName: 'hstore' })],
    [
      'a user range',
      col('r', { typeOid: 16900, baseTypeOid: 16900, baseKind: 'range', typeName: 'app.floatrange' }),
    ],
    ['a domain over a user type', col('d', { typeOid: 17000, baseTypeOid: 16501, typeName: 'app.moods' })],
    ['regclass (binary is the OID)', col('r', { typeOid: 2205, baseTypeOid: 2205, typeName: 'regclass' })],
    ['regtype[] (OIDs inside)', col('r', { typeOid: 2211, baseTypeOid: 2211, typeName: 'regtype[]' })],
    [
      'a type without binary I/O',
      col('x', { typeOid: 1033, baseTypeOid: 1033, baseHasBinaryIo: false, typeName: 'aclitem' }),
    ],
  ])('text for %s, with the reason', (_what, column) => {
    expect(binaryProblem(column)).toMatch(new RegExp(column.typeName.replace(/[[\]]/g, '\\$&')));
    expect(chooseFormat([col('id'), column], true)).toEqual({
      format: 'text',
      reason: binaryProblem(column),
    });
  });

  it('text whenever the encodings differ (binary COPY does not convert)', () => {
    expect(chooseFormat([col('id')], false)).toEqual({
      format: 'text',
      reason: 'the servers use different encodings',
    });
  });
});

describe('block ranges', () => {
  it('none for a table not bigger than the limit, or of one block', () => {
    expect(blockRanges(8192 * 10, 8192 * 10, 8192)).toEqual([]);
    expect(blockRanges(8192, 1, 8192)).toEqual([]);
    expect(blockRanges(0, 0, 8192)).toEqual([]);
  });

  it('covers every block exactly once, open at both ends', () => {
    const ranges = blockRanges(8192 * 100, 8192 * 30, 8192);
    expect(ranges).toEqual([
      { from: undefined, to: 25 },
      { from: 25, to: 50 },
      { from: 50, to: 75 },
      { from: 75, to: undefined },
    ]);
  });

  it('at most one range per block, and at most MAX_PARTS', () => {
    expect(blockRanges(8192 * 7, 1, 8192)).toHaveLength(7);
    const many = blockRanges(8192 * 100_000, 1, 8192);
    expect(many.length).toBeLessThanOrEqual(MAX_PARTS);
    for (let i = 1; i < many.length; i++) expect(many[i]!.from).toBe(many[i - 1]!.to);
  });
});

describe('planCopy', () => {
  it('copies leaf partitions, never partitioned parents, and inheritance tables each on their own', () => {
    const parent = table('app', 'measurements', { kind: 'partitioned' });
    const mid = table('app', 'm_2024', { kind: 'partitioned', partitionOf: parent.key });
    const leaf1 = table('app', 'm_2024_h0', { partitionOf: mid.key });
    const leaf2 = table('archive', 'm_2023', { partitionOf: parent.key });
    const vehicles = table('app', 'vehicles');
    const cars = table('app', 'cars');
    const plan = planCopy(input([parent, mid, leaf1, leaf2, vehicles, cars]));
    expect(plan.tables.map((t) => `${t.schema}.${t.name}`)).toEqual([
      'app.m_2024_h0',
      'archive.m_2023',
      'app.vehicles',
      'app.cars',
    ]);
    // ONLY semantics: a whole table is COPY table TO (no children), never a SELECT without ONLY.
    for (const u of plan.units) expect(u.copyOut).not.toMatch(/FROM (?!ONLY)/);
  });

  it('a selected partitioned table brings its partitions, even from unselected schemas', () => {
    const parent = table('app', 'measurements', { kind: 'partitioned' });
    const leaf = table('archive', 'measurements_2023', { partitionOf: parent.key });
    const other = table('app', 'other');
    const plan = planCopy(
      input([parent, leaf, other], {
        patterns: { database: 'db', include: ['app.measurements'], exclude: [] },
      }),
    );
    expect(plan.tables.map((t) => t.name)).toEqual(['measurements_2023']);
  });

  it('leaves generated columns out of both sides', () => {
    const t = table('app', 'people', {
      columns: [col('id'), col('first'), col('full', { generated: true }), col('last')],
    });
    const [unit] = planCopy(input([t])).units;
    expect(unit!.table.columns).toEqual(['id', 'first', 'last']);
    expect(unit!.copyOut).toBe('COPY "app"."people" ("id", "first", "last") TO STDOUT WITH (FORMAT binary)');
    expect(unit!.copyIn).toBe(
      'COPY "app"."people" ("id", "first", "last") FROM STDIN WITH (FORMAT binary, FREEZE)',
    );
    expect(unit!.truncateFirst).toBe(true);
  });

  it('splits big tables into ranges, largest units first, and lists them for truncation', () => {
    const small = table('app', 'small', { bytes: 8192 * 2 });
    const big = table('app', 'big', { bytes: 8192 * 40 });
    const plan = planCopy(input([small, big], { splitTableBytes: 8192 * 10 }));
    expect(plan.splitTables.map((t) => t.name)).toEqual(['big']);
    expect(plan.units.map((u) => u.id)).toEqual([
      'app.big part 1/4',
      'app.big part 2/4',
      'app.big part 3/4',
      'app.big part 4/4',
      'app.small',
    ]);
    const parts = plan.units.filter((u) => u.table.name === 'big');
    expect(parts.every((u) => !u.truncateFirst && !u.copyIn.includes('FREEZE'))).toBe(true);
    expect(parts[0]!.copyOut).toContain("WHERE ctid < '(10,0)'::pg_catalog.tid)");
    expect(plan.tables.find((t) => t.name === 'big')!.parts).toBe(4);
  });

  it("without a threshold, splits only a table bigger than one worker's share, into pieces of a share", () => {
    const MB = 1024 ** 2;
    const smalls = Array.from({ length: 20 }, (_, i) => table('app', `small_${i}`, { bytes: MB }));
    // The full-load bench at scale 1: no table is more than a share (183 MB of 366 on two workers).
    const wide = table('app', 'wide', { bytes: 180 * MB });
    const narrow = table('app', 'narrow', { bytes: 166 * MB });
    const even = planCopy(input([wide, narrow, ...smalls], { splitTableBytes: undefined, parallel: 2 }));
    expect(even.splitBytes).toBe(1024 * MB); // a share (183 MB) is under the 1 GB floor
    expect(even.splitTables).toEqual([]);
    // One table of 6 GB among 7 on four workers: split into four pieces of at most a share (1.75 GB).
    const big = table('app', 'big', { bytes: 6000 * MB });
    const rest = Array.from({ length: 5 }, (_, i) => table('app', `t_${i}`, { bytes: 200 * MB }));
    const one = planCopy(input([big, ...rest], { splitTableBytes: undefined, parallel: 4 }));
    expect(one.splitBytes).toBe(1750 * MB);
    expect(one.tables.filter((t) => t.parts > 1).map((t) => [t.name, t.parts])).toEqual([['big', 4]]);
    expect(Math.max(...one.units.map((u) => u.estimatedBytes))).toBeLessThanOrEqual(1750 * MB);

    expect(automaticSplitBytes(40 * 1024 * MB, 8)).toBe(5 * 1024 * MB);
    expect(automaticSplitBytes(0, 4)).toBe(MIN_AUTO_SPLIT_BYTES);
    // A threshold the task sets wins, however unbalanced.
    const fixed = planCopy(input([big, ...rest], { splitTableBytes: 8192 * MB, parallel: 4 }));
    expect(fixed.splitTables).toEqual([]);
    expect(fixed.splitBytes).toBe(8192 * MB);
  });

  it('skips what the patterns exclude and dts state', () => {
    const plan = planCopy(
      input([table('app', 'keep'), table('nokey', 'raw'), table('_dts', 'tasks')], {
        patterns: { database: 'db', include: [], exclude: ['nokey.*'] },
      }),
    );
    expect(plan.tables.map((t) => t.name)).toEqual(['keep']);
  });
});
