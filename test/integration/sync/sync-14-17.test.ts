import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDatabase } from '../../../src/replication/index.js';
import { startServer, type TestServer } from '../../harness/pg-server.js';
import { DtsError } from '../../../src/errors.js';
import { replicationNames } from '../../../src/catalog/names.js';
import { client, currentLsn, prepare, rowsOf, slotConfirmed, storedPosition } from './helpers.js';
import {
  concurrentWorkload,
  CONCURRENT_DDL,
  SHAPES_DDL,
  SHAPES_TABLES,
  shapesWorkload,
  TYPES_DDL,
  typesWorkload,
} from './workloads.js';

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

  it('applies interleaved transactions of concurrent writers in commit order (commit order != begin order)', async () => {
    const { task, start } = await prepare(source, target, 'concurrent', CONCURRENT_DDL);
    const order = await concurrentWorkload(source, 'concurrent');
    expect(order.beganFirstCommittedLast).toBeGreaterThan(10);
    const stopAt = await currentLsn(source, 'concurrent');
    const result = await syncDatabase(task, 'concurrent', { fromLsn: start, stopAt });
    for (const t of ['accounts', 'log'])
      expect(await rowsOf(target, 'concurrent', t), t).toEqual(await rowsOf(source, 'concurrent', t));
    expect(result.transactions).toBeGreaterThanOrEqual(order.transactions);
  });

  it('applies a burst of 5,000 one-row transactions (rate printed)', async () => {
    const { task, start } = await prepare(
      source,
      target,
      'burst',
      `CREATE TABLE ev (id int PRIMARY KEY, v text)`,
    );
    await source.query(
      `DO $$ BEGIN FOR i IN 1..5000 LOOP INSERT INTO ev VALUES (i, md5(i::text)); COMMIT; END LOOP; END $$`,
      [],
      'burst',
    );
    const stopAt = await currentLsn(source, 'burst');
    const t0 = Date.now();
    const result = await syncDatabase(task, 'burst', { fromLsn: start, stopAt });
    const ms = Date.now() - t0;
    console.log(
      `burst 14->17: ${result.transactions} transactions in ${ms} ms = ${Math.round((result.transactions * 1000) / ms)} tx/s`,
    );
    expect(result.transactions).toBe(5000);
    expect(await rowsOf(target, 'burst', 'ev')).toEqual(await rowsOf(source, 'burst', 'ev'));
  });

  it('returns promptly on an idle source when stopAt is already reached', async () => {
    const { task, start } = await prepare(source, target, 'idle', `CREATE TABLE t (id int PRIMARY KEY)`);
    const stopAt = await currentLsn(source, 'idle');
    const t0 = Date.now();
    const result = await syncDatabase(task, 'idle', { fromLsn: start, stopAt });
    expect(result.stoppedBy).toBe('stopAt');
    expect(Date.now() - t0).toBeLessThan(10_000);
    // And again with the position stored: nothing to stream at all.
    const again = await syncDatabase(task, 'idle', { fromLsn: start, stopAt });
    expect(again.stoppedBy).toBe('stopAt');
  });

  it('stops with a clear error when the source schema changes, and continues once the target has the same DDL', async () => {
    const { task, start } = await prepare(
      source,
      target,
      'ddl',
      `CREATE TABLE t (id int PRIMARY KEY, a text)`,
    );
    await source.query(`INSERT INTO t VALUES (1, 'before')`, [], 'ddl');
    await source.query(`ALTER TABLE t ADD COLUMN b int`, [], 'ddl');
    await source.query(`INSERT INTO t VALUES (2, 'after', 42)`, [], 'ddl');
    const stopAt = await currentLsn(source, 'ddl');
    const err = await syncDatabase(task, 'ddl', { fromLsn: start, stopAt }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DtsError);
    expect((err as DtsError).code).toBe('source-schema-changed');
    expect((err as DtsError).message).toMatch(
      /public\.t .*column b exists on the source but not on the target/,
    );
    expect((err as DtsError).hint).toMatch(/run the same DDL on the target, then run dts again/);
    // All three transactions were committed before sync read any: the first was applied, batched with
    // the DDL'd one, and committed with its position before the stop.
    expect(await rowsOf(target, 'ddl', 't')).toEqual(['(1,before)']);
    expect(await storedPosition(target, 'ddl')).toBeGreaterThan(start);
    await target.query(`ALTER TABLE t ADD COLUMN b int`, [], 'ddl');
    await syncDatabase(task, 'ddl', { fromLsn: start, stopAt });
    expect(await rowsOf(target, 'ddl', 't')).toEqual(await rowsOf(source, 'ddl', 't'));

    // The DDL'd transaction wrote another table first: that change is in the batch already, so sync rolls
    // back and streams again up to that transaction; the one before it is still committed.
    await source.query(`CREATE TABLE other (id int PRIMARY KEY)`, [], 'ddl');
    await target.query(`CREATE TABLE other (id int PRIMARY KEY)`, [], 'ddl');
    await source.query(`INSERT INTO other VALUES (1)`, [], 'ddl');
    await source.query(
      `BEGIN; INSERT INTO other VALUES (2); ALTER TABLE t ADD COLUMN c int; INSERT INTO t VALUES (3, 'c', 3, 3); COMMIT`,
      [],
      'ddl',
    );
    const stopAt2 = await currentLsn(source, 'ddl');
    const err3 = await syncDatabase(task, 'ddl', { stopAt: stopAt2 }).catch((e: unknown) => e);
    expect((err3 as DtsError).code).toBe('source-schema-changed');
    expect((err3 as DtsError).message).toMatch(/column c exists on the source but not on the target/);
    expect(await rowsOf(target, 'ddl', 'other')).toEqual(['(1)']);
    await target.query(`ALTER TABLE t ADD COLUMN c int`, [], 'ddl');
    await syncDatabase(task, 'ddl', { stopAt: stopAt2 });
    expect(await rowsOf(target, 'ddl', 'other')).toEqual(['(1)', '(2)']);
    expect(await rowsOf(target, 'ddl', 't')).toEqual(await rowsOf(source, 'ddl', 't'));

    // A table created on the source (FOR ALL TABLES publishes it at once).
    await source.query(`CREATE TABLE fresh (id int PRIMARY KEY); INSERT INTO fresh VALUES (1)`, [], 'ddl');
    const err2 = await syncDatabase(task, 'ddl', { stopAt: await currentLsn(source, 'ddl') }).catch(
      (e: unknown) => e,
    );
    expect((err2 as DtsError).message).toMatch(/public\.fresh does not exist on the target/);
  });

  it('never confirms more than is applied while apply is held back (#174), and survives wal_sender_timeout meanwhile', async () => {
    const { task, start } = await prepare(
      source,
      target,
      'held',
      `CREATE TABLE t (id int PRIMARY KEY, v text)`,
    );
    const { slot } = replicationNames(task, 'held');
    await source.query(`INSERT INTO t VALUES (0, 'first')`, [], 'held');
    const first = await syncDatabase(task, 'held', {
      fromLsn: start,
      stopAt: await currentLsn(source, 'held'),
    });
    const stored = await storedPosition(target, 'held');
    expect(stored).toBe(first.appliedLsn);

    await source.query(`ALTER SYSTEM SET wal_sender_timeout = '1s'`);
    await source.query(`SELECT pg_reload_conf()`);
    const blocker = await client(target, 'held');
    try {
      await blocker.query(`BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE`);
      await source.query(`INSERT INTO t SELECT g, 'x' FROM generate_series(1, 100) g`, [], 'held');
      const stopAt = await currentLsn(source, 'held');
      // Status updates only as keepalive answers: the periodic one is set far away on purpose.
      const running = syncDatabase(task, 'held', { stopAt, statusIntervalMs: 600_000 });
      const seen: bigint[] = [];
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const sent = await source.query(
          `SELECT sent_lsn::text AS sent FROM pg_stat_replication WHERE application_name = 'dts'`,
          [],
          'held',
        );
        expect(sent.rows.length).toBe(1);
        seen.push(await slotConfirmed(source, 'held', slot));
        expect(await storedPosition(target, 'held')).toBe(stored);
      }
      await blocker.query(`COMMIT`);
      const result = await running;
      expect(result.reconnects).toBe(0);
      // The held transaction is the last one: its commit is the applied position now. While it was not
      // applied, the slot may move under an idle source's heartbeat (up to where the walsender had decoded
      // without that commit) but never to or past its commit.
      expect(result.appliedLsn).toBeGreaterThan(stored!);
      for (const confirmed of seen) expect(confirmed).toBeLessThan(result.appliedLsn);
      expect(await slotConfirmed(source, 'held', slot)).toBeGreaterThanOrEqual(result.appliedLsn);
      expect(await rowsOf(target, 'held', 't')).toEqual(await rowsOf(source, 'held', 't'));
    } finally {
      await blocker.end();
      await source.query(`ALTER SYSTEM RESET wal_sender_timeout`);
      await source.query(`SELECT pg_reload_conf()`);
    }
  });
});
