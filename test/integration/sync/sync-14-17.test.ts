import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDatabase } from '../../../src/replication/index.js';
import { startServer, type TestServer } from '../../harness/pg-server.js';
import { currentLsn, prepare, rowsOf, storedPosition } from './helpers.js';
import { SHAPES_DDL, SHAPES_TABLES, shapesWorkload, TYPES_DDL, typesWorkload } from './workloads.js';

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('incremental sync 14 -> 17', () => {
  it('applies every table shape: PK, USING INDEX, FULL with NULLs and duplicates, key changes, TOAST, TRUNCATE, partitions', async () => {
    const { task, start } = await prepare(source, target, 'shapes', SHAPES_DDL);
    await shapesWorkload(source, 'shapes');
    const stopAt = await currentLsn(source, 'shapes');
    const result = await syncDatabase(task, 'shapes', { fromLsn: start, stopAt });
    expect(result.stoppedBy).toBe('stopAt');
    expect(result.replicaRole).toBe(true);
    for (const t of SHAPES_TABLES)
      expect(await rowsOf(target, 'shapes', t), t).toEqual(await rowsOf(source, 'shapes', t));
    const big = await target.query(
      `SELECT length(payload) AS n, counter FROM big WHERE id = 1`,
      [],
      'shapes',
    );
    expect(big.rows[0]).toEqual({ n: 1_280_000, counter: 2 });
    expect(await storedPosition(target, 'shapes')).toBe(result.appliedLsn);
  });

  it('carries every data type exactly (text in, text out), in PK and FULL tables', async () => {
    const { task, start } = await prepare(source, target, 'types', TYPES_DDL);
    await typesWorkload(source, 'types');
    const stopAt = await currentLsn(source, 'types');
    await syncDatabase(task, 'types', { fromLsn: start, stopAt });
    for (const t of ['types', 'types_full']) {
      const want = await rowsOf(source, 'types', t);
      expect(want.length).toBeGreaterThan(3);
      expect(await rowsOf(target, 'types', t), t).toEqual(want);
    }
  });
});
