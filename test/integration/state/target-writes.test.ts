import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPERUSER_PASSWORD, startServer, type TestServer } from '../../harness/pg-server.js';
import {
  readTargetWrites,
  unwatchTargetWrites,
  watchTargetWrites,
} from '../../../src/state/target-writes.js';

let server: TestServer;
const DB = 'watch';

beforeAll(async () => {
  server = await startServer({ version: 17 });
  await server.query(`CREATE DATABASE ${DB}`);
  await server.query(
    `CREATE TABLE "Odd ""name"""(id int PRIMARY KEY, v text);
     CREATE TABLE plain (id int PRIMARY KEY);
     CREATE TABLE parted (id int, at int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
     CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
     CREATE ROLE writer LOGIN PASSWORD 'w';
     GRANT ALL ON ALL TABLES IN SCHEMA public TO writer`,
    [],
    DB,
  );
});

afterAll(async () => {
  await server?.stop();
});

/** A session of its own (as `user`), so transaction-local marks start empty. */
async function session<T>(user: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({
    host: server.host,
    port: server.port,
    database: DB,
    user,
    password: user === 'postgres' ? SUPERUSER_PASSWORD : 'w',
    application_name: 'tests',
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const writes = async (task: string) =>
  (await session('postgres', (c) => readTargetWrites(c, task, DB))).map(
    (w) => `${w.table} ${w.operation} ${w.transactions} ${w.lastRole}`,
  );

describe('the write watch on the target (state/target-writes.ts)', () => {
  it('records others once per transaction, table and operation; never a session marked as dts applying', async () => {
    await session('postgres', (c) =>
      watchTargetWrites(c, 'one', [
        { schema: 'public', name: 'Odd "name"' },
        { schema: 'public', name: 'parted_low' },
        { schema: 'public', name: 'gone' }, // dropped since the copy: skipped
      ]),
    );
    // Again (a resumed run): nothing doubled.
    await session('postgres', (c) => watchTargetWrites(c, 'one', [{ schema: 'public', name: 'Odd "name"' }]));
    expect(await writes('one')).toEqual([]);

    // dts's apply session, whatever its role: not recorded.
    await session('writer', async (c) => {
      await c.query(`SET dts.applying = 'on'`);
      await c.query(`INSERT INTO "Odd ""name""" SELECT g, 'd' FROM generate_series(1, 100) g`);
    });
    expect(await writes('one')).toEqual([]);

    // Someone else: a bulk insert is one transaction; rows routed through a partitioned parent count.
    await session('writer', async (c) => {
      await c.query(`BEGIN`);
      await c.query(`INSERT INTO "Odd ""name""" SELECT g, 'x' FROM generate_series(101, 1100) g`);
      await c.query(`UPDATE "Odd ""name""" SET v = 'y' WHERE id < 10`);
      await c.query(`INSERT INTO "Odd ""name""" VALUES (5000, 'z')`);
      await c.query(`COMMIT`);
      await c.query(`INSERT INTO parted VALUES (1, 5)`);
      await c.query(`TRUNCATE plain`); // not watched
      await c.query(`TRUNCATE parted_low`);
    });
    expect(await writes('one')).toEqual([
      'public."Odd ""name""" INSERT 1 writer',
      'public."Odd ""name""" UPDATE 1 writer',
      'public.parted_low INSERT 1 writer',
      'public.parted_low TRUNCATE 1 writer',
    ]);
    await session('writer', (c) => c.query(`DELETE FROM "Odd ""name""" WHERE id = 5000`));
    expect(await writes('one')).toContain('public."Odd ""name""" DELETE 1 writer');

    // A second task watching the same database keeps the function when the first one goes.
    await session('postgres', (c) => watchTargetWrites(c, 'two', [{ schema: 'public', name: 'plain' }]));
    await session('postgres', (c) => unwatchTargetWrites(c, 'one'));
    const left = async () =>
      (
        await server.query<{ t: string }>(
          `SELECT tgname || ' ' || tgrelid::regclass AS t FROM pg_trigger WHERE tgname LIKE 'dts_target_writes%' ORDER BY 1`,
          [],
          DB,
        )
      ).rows.map((r) => r.t);
    expect(await left()).toEqual(['dts_target_writes_two plain', 'dts_target_writes_two_truncate plain']);
    await session('writer', (c) => c.query(`INSERT INTO plain VALUES (1)`));
    expect(await writes('two')).toEqual(['public.plain INSERT 1 writer']);
    await session('postgres', (c) => unwatchTargetWrites(c, 'two'));
    expect(await left()).toEqual([]);
    expect(
      (await server.query(`SELECT 1 FROM pg_proc WHERE proname = 'note_target_write'`, [], DB)).rows,
    ).toEqual([]);
    // The records stay, as history.
    expect(await writes('one')).toHaveLength(5);
  }, 120_000);
});
