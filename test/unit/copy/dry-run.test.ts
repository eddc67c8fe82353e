import { describe, expect, it } from 'vitest';
import { renderCopyPlan } from '../../../src/cli/render/copy-plan.js';
import { tablesInOrder } from '../../../src/copy/dry-run.js';
import { planCopy } from '../../../src/copy/plan.js';
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
const table = (key: string, name: string, bytes: number, over: Partial<SourceTable> = {}): SourceTable => ({
  key,
  schema: 'app',
  name,
  kind: 'table',
  partitionOf: undefined,
  columns: [col('id')],
  bytes,
  estimatedRows: Math.round(bytes / 100),
  ...over,
});

describe('the copy plan of run --dry-run', () => {
  const plan = planCopy({
    tables: [
      table('k:small', 'small', 8192),
      table('k:big', 'big', 8192 * 40),
      table('k:mid', 'Mid Table', 8192 * 4, {
        columns: [
          col('id'),
          col('mood', { typeName: 'app.mood', baseTypeOid: 20000, baseKind: 'composite' }),
        ],
        estimatedRows: undefined,
      }),
    ],
    patterns: { database: 'db', include: [], exclude: [] },
    splitTableBytes: 8192 * 10,
    parallel: 2,
    blockSize: 8192,
    sameEncoding: true,
  });
  const tables = tablesInOrder(plan, (key) => (key === 'k:big' ? 2 : 0));
  const printed = (splitBytes: number, splitAutomatic: boolean) =>
    renderCopyPlan({
      parallel: 2,
      databases: [{ source: 'db', target: 'copy', encoding: 'UTF8', splitBytes, splitAutomatic, tables }],
    }).split('\n');

  it('lists tables largest first, with their ranges, format and reason, and what is built after them', () => {
    expect(tables.map((t) => [t.order, t.name, t.parts, t.format])).toEqual([
      [1, 'big', 4, 'binary'],
      [2, 'Mid Table', 1, 'text'],
      [3, 'small', 1, 'binary'],
    ]);
    expect(tables[0]!.ranges).toEqual([
      { from: undefined, to: 10 },
      { from: 10, to: 20 },
      { from: 20, to: 30 },
      { from: 30, to: undefined },
    ]);
    expect(tables[0]!.keysAndIndexes).toBe(2);
    expect(tables[1]!.formatReason).toBe('column mood has the user-defined type app.mood');
  });

  it('prints them as SQL comments', () => {
    expect(printed(8192 * 10, false)).toEqual([
      '',
      '-- copy plan db -> copy: 3 table(s) on 2 worker(s), largest first; tables over 80 kB split into ctid block ranges',
      '--   1. app.big: ~3,277 rows, 320 kB, 4 ctid block ranges (0-10, 10-20, 20-30, 30-end), binary; then 2 key(s)/index(es)',
      '--   2. app."Mid Table": rows unknown (never analyzed), 32 kB, whole, text: column mood has the user-defined type app.mood',
      '--   3. app.small: ~82 rows, 8192 bytes, whole, binary',
      "-- binary COPY where every column allows it, assuming the target's encoding is the source's (UTF8); the target was not contacted",
    ]);
  });

  it('says when the split threshold was derived from the data', () => {
    expect(printed(64 * 1024 ** 2, true)[1]).toBe(
      "-- copy plan db -> copy: 3 table(s) on 2 worker(s), largest first; tables over 64 MB (automatic: one worker's share of the data) split into ctid block ranges",
    );
  });
});
