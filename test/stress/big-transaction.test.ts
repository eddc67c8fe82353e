import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDatabase } from '../../src/replication/index.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { currentLsn, prepare, rowsOf } from '../integration/sync/helpers.js';

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('incremental sync 14 -> 17: large transactions', () => {
  it('a transaction spanning several 16 MB WAL segments, then many DELETEs in one transaction', async () => {
    const { task, start } = await prepare(
      source,
      target,
      'bigtx',
      `CREATE TABLE t (id int PRIMARY KEY, v text)`,
    );
    const before = await currentLsn(source, 'bigtx');
    await source.query(
      `INSERT INTO t SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 250000) g`,
      [],
      'bigtx',
    );
    const after = await currentLsn(source, 'bigtx');
    expect(Number(after - before)).toBeGreaterThan(3 * 16 * 1024 * 1024);
    await source.query(`DELETE FROM t WHERE id % 3 = 0`, [], 'bigtx');
    const r = await syncDatabase(task, 'bigtx', {
      fromLsn: start,
      stopAt: await currentLsn(source, 'bigtx'),
    });
    expect(r.transactions).toBe(2);
    const n = await target.query(`SELECT count(*)::int AS n FROM t`, [], 'bigtx');
    expect(n.rows[0]).toEqual({ n: 250000 - 83333 });
    expect(await rowsOf(target, 'bigtx', 't')).toEqual(await rowsOf(source, 'bigtx', 't'));
  });
});
