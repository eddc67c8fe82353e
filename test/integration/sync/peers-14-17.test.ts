import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDatabase } from '../../../src/replication/index.js';
import { startServer, type TestServer } from '../../harness/pg-server.js';
import { client, currentLsn, prepare, rowsOf } from './helpers.js';

/**
 * Cases other logical-replication tools test that the shapes workload does not: a cutover position inside
 * an open transaction and TRUNCATE of a partitioned table (a transaction larger than several WAL segments
 * and many DELETEs in one transaction are in test/stress/big-transaction.test.ts: they take minutes).
 */

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('incremental sync 14 -> 17: cases from peers', () => {
  it('a stop position inside an open transaction applies none of it; the next sync applies all of it', async () => {
    const { task, start } = await prepare(
      source,
      target,
      'midtx',
      `CREATE TABLE t (id int PRIMARY KEY, v text)`,
    );
    await source.query(`INSERT INTO t VALUES (0, 'before')`, [], 'midtx');
    const open = await client(source, 'midtx');
    try {
      await open.query(`BEGIN`);
      await open.query(`INSERT INTO t SELECT g, 'open' FROM generate_series(1, 500) g`);
      await source.query(`INSERT INTO t VALUES (-1, 'committed meanwhile')`, [], 'midtx');
      const middle = await currentLsn(source, 'midtx');
      await open.query(`UPDATE t SET v = 'open, updated' WHERE id <= 250`);
      await open.query(`COMMIT`);
      const first = await syncDatabase(task, 'midtx', { fromLsn: start, stopAt: middle });
      expect(first.stoppedBy).toBe('stopAt');
      expect(await rowsOf(target, 'midtx', 't')).toEqual(['(-1,"committed meanwhile")', '(0,before)']);
    } finally {
      await open.end();
    }
    await syncDatabase(task, 'midtx', { stopAt: await currentLsn(source, 'midtx') });
    expect(await rowsOf(target, 'midtx', 't')).toEqual(await rowsOf(source, 'midtx', 't'));
  });

  it('TRUNCATE of a partitioned table (leaves published on their own), then new rows', async () => {
    const { task, start } = await prepare(
      source,
      target,
      'parttrunc',
      `CREATE TABLE m (at int NOT NULL, v text, PRIMARY KEY (at)) PARTITION BY RANGE (at);
       CREATE TABLE m_a PARTITION OF m FOR VALUES FROM (0) TO (100);
       CREATE TABLE m_b PARTITION OF m FOR VALUES FROM (100) TO (200);
       CREATE TABLE other (id int PRIMARY KEY)`,
    );
    await source.query(
      `INSERT INTO m SELECT g, 'x' FROM generate_series(0, 199) g; INSERT INTO other VALUES (1)`,
      [],
      'parttrunc',
    );
    await source.query(`TRUNCATE m`, [], 'parttrunc');
    await source.query(`INSERT INTO m VALUES (5, 'after'), (150, 'after')`, [], 'parttrunc');
    await source.query(`TRUNCATE m_b`, [], 'parttrunc');
    await syncDatabase(task, 'parttrunc', { fromLsn: start, stopAt: await currentLsn(source, 'parttrunc') });
    for (const t of ['m_a', 'm_b', 'other'])
      expect(await rowsOf(target, 'parttrunc', t), t).toEqual(await rowsOf(source, 'parttrunc', t));
    expect(await rowsOf(target, 'parttrunc', 'm')).toEqual(['(5,after)']);
  });
});
