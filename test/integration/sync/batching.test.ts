import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDatabase } from '../../../src/replication/index.js';
import { DtsError } from '../../../src/errors.js';
import { startServer, type TestServer } from '../../harness/pg-server.js';
import { client, currentLsn, prepare, rowsOf, storedPosition } from './helpers.js';

/**
 * The applier batches changes (multi-row UPDATE ... FROM VALUES, DELETE ... USING VALUES, INSERT, many
 * statements per round trip, tables reordered): each case here would end with a different target, or a
 * failed statement, if a batch kept a repeated key, reordered what must not be, or dropped a value.
 */

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 17 }), startServer({ version: 18 })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

const DDL = `
CREATE TABLE acc (id int PRIMARY KEY, a int, b text, c text);
CREATE TABLE hist (id bigint PRIMARY KEY, acc int, v text);
CREATE TABLE toasty (id int PRIMARY KEY, payload text, counter int, note text);
ALTER TABLE toasty ALTER COLUMN payload SET STORAGE EXTERNAL;
CREATE TABLE ui (a int NOT NULL, b text NOT NULL, v text, UNIQUE (a, b));
ALTER TABLE ui REPLICA IDENTITY USING INDEX ui_a_b_key;
CREATE TABLE emails (id int PRIMARY KEY, email text NOT NULL UNIQUE, n int);
CREATE TABLE full_t (x int, y text);
CREATE TABLE odd (id int PRIMARY KEY, t text, arr text[], b bytea, j jsonb, n numeric, ts timestamptz,
                  iv interval);
CREATE TABLE ida (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
CREATE TABLE parts (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (1000);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (1000) TO (100000);
ALTER TABLE full_t REPLICA IDENTITY FULL;
INSERT INTO acc SELECT g, g, 'b' || g, NULL FROM generate_series(1, 50) g;
INSERT INTO toasty SELECT g, repeat(md5(g::text), 400), 0, 'n' FROM generate_series(1, 10) g;
INSERT INTO ui SELECT g, 'k' || g, 'v' FROM generate_series(1, 20) g;
INSERT INTO emails SELECT g, 'e' || g || '@x', 0 FROM generate_series(1, 10) g;
INSERT INTO full_t SELECT g % 3, 'y' FROM generate_series(1, 9) g;
`;

const TABLES = ['acc', 'hist', 'toasty', 'ui', 'emails', 'full_t', 'odd', 'ida', 'parts'];

async function sync(database: string) {
  const { task, start } = await prepare(source, target, database, DDL);
  return { task, start };
}

async function expectSame(database: string): Promise<void> {
  for (const t of TABLES) {
    const want = await rowsOf(source, database, t);
    expect(await rowsOf(target, database, t), t).toEqual(want);
  }
}

describe('batched apply 17 -> 18', () => {
  it('keeps order where it matters: repeated keys, key changes, column sets, unique swaps, odd values', async () => {
    const { task, start } = await sync('ordering');
    const c = await client(source, 'ordering');
    const tx = (sql: string) => c.query(`BEGIN; ${sql}; COMMIT`);
    try {
      // A key updated twice in one transaction, and in two transactions of one batch.
      await tx(`UPDATE acc SET a = a + 1 WHERE id = 1; UPDATE acc SET a = a + 10 WHERE id = 1`);
      await tx(`UPDATE acc SET a = 0 WHERE id = 1`);
      // Update then delete of the same key; delete then re-insert of the same key.
      await tx(`UPDATE acc SET b = 'gone soon' WHERE id = 2; DELETE FROM acc WHERE id = 2`);
      await tx(`DELETE FROM acc WHERE id = 3; INSERT INTO acc VALUES (3, 333, 'again', 'c')`);
      // Insert, update, delete, insert again of one new key in one transaction.
      await tx(
        `INSERT INTO acc VALUES (100, 1, 'x', NULL); UPDATE acc SET a = 2 WHERE id = 100;
         DELETE FROM acc WHERE id = 100; INSERT INTO acc VALUES (100, 3, 'y', 'z')`,
      );
      // Key changes: a chain, and a swap through a free key, interleaved with other updates.
      await tx(
        `UPDATE acc SET id = 200 WHERE id = 4; UPDATE acc SET a = 44 WHERE id = 5;
         UPDATE acc SET id = 4 WHERE id = 5; UPDATE acc SET id = 5 WHERE id = 200`,
      );
      await tx(`UPDATE acc SET id = id + 1000, a = -a WHERE id BETWEEN 10 AND 19`);
      // Different changed-column sets interleaved (TOAST left unchanged or not), and the key of TOAST rows.
      for (let i = 1; i <= 10; i++)
        await tx(
          i % 2
            ? `UPDATE toasty SET counter = counter + 1 WHERE id = ${i}`
            : `UPDATE toasty SET payload = repeat('z${i}', 3000), counter = ${i} WHERE id = ${i}`,
        );
      await tx(`UPDATE toasty SET note = 'all' WHERE true`);
      await tx(`UPDATE toasty SET counter = counter + 1, note = NULL WHERE id IN (1, 2, 3)`);
      // NULLs, quotes, backslashes, unicode, a literal-looking string, in inserts, updates and keys.
      await tx(
        `UPDATE acc SET b = NULL, c = $$it's \\n a "quote"$$ WHERE id = 20;
         UPDATE acc SET b = E'back\\\\slash\\ttab', c = 'Ünïcödé ✓ 𝄞' WHERE id = 21;
         UPDATE acc SET b = '$1; DROP TABLE acc; --', c = '' WHERE id = 22;
         INSERT INTO hist SELECT g, g % 50, CASE WHEN g % 3 = 0 THEN NULL ELSE $$q'"\\$$ || g END FROM generate_series(1, 300) g`,
      );
      // REPLICA IDENTITY USING INDEX: updates, a key change, deletes and a re-insert of a deleted key.
      await tx(
        `UPDATE ui SET v = 'w' WHERE a <= 5; UPDATE ui SET b = 'moved' WHERE a = 6;
         DELETE FROM ui WHERE a IN (7, 8); INSERT INTO ui VALUES (7, 'k7', 'back'); UPDATE ui SET a = 8 WHERE a = 9`,
      );
      // A second unique index: values swapped between rows must be applied in the source's order.
      await tx(
        `UPDATE emails SET email = 'tmp' WHERE id = 1; UPDATE emails SET email = 'e1@x' WHERE id = 2;
         UPDATE emails SET email = 'e2@x' WHERE id = 1; UPDATE emails SET n = n + 1`,
      );
      await tx(`DELETE FROM emails WHERE id = 3; UPDATE emails SET email = 'e3@x' WHERE id = 4`);
      // A rotation of unique values against the rows' physical order: one multi-row UPDATE would fail.
      await tx(
        [`UPDATE emails SET email = 'tmp10' WHERE id = 10`]
          .concat([9, 8, 7, 6, 5].map((i) => `UPDATE emails SET email = 'e${i + 1}@x' WHERE id = ${i}`))
          .concat([`UPDATE emails SET email = 'e5@x' WHERE id = 10`])
          .join('; '),
      );
      // REPLICA IDENTITY FULL with duplicates, between keyed changes.
      await tx(
        `UPDATE full_t SET y = 'z' WHERE x = 1; DELETE FROM full_t WHERE x = 2; INSERT INTO full_t VALUES (NULL, NULL)`,
      );
      // Mixed tables in one transaction, many rows (one statement per table and kind).
      await tx(
        `UPDATE acc SET a = a * 2 WHERE id > 20; DELETE FROM hist WHERE id % 7 = 0;
         INSERT INTO hist SELECT g, g, 'h' FROM generate_series(1000, 1100) g; UPDATE hist SET v = 'u' WHERE id % 5 = 0`,
      );
    } finally {
      await c.end();
    }
    const stopAt = await currentLsn(source, 'ordering');
    const result = await syncDatabase(task, 'ordering', { fromLsn: start, stopAt });
    expect(result.stoppedBy).toBe('stopAt');
    await expectSame('ordering');
    const toast = await target.query(
      `SELECT id, length(payload) AS n, counter, note FROM toasty WHERE id IN (1, 2) ORDER BY id`,
      [],
      'ordering',
    );
    expect(toast.rows).toEqual([
      { id: 1, n: 12_800, counter: 2, note: null },
      { id: 2, n: 6_000, counter: 3, note: null },
    ]);
    expect(await storedPosition(target, 'ordering')).toBe(result.appliedLsn);
  });

  it('applies one source transaction larger than a send, with every kind of change, in order', async () => {
    const { task, start } = await sync('large');
    await source.query(
      `BEGIN;
       INSERT INTO hist SELECT g, g % 50, md5(g::text) FROM generate_series(1, 30000) g;
       UPDATE hist SET v = 'odd' WHERE id % 2 = 1;
       DELETE FROM hist WHERE id % 3 = 0;
       INSERT INTO hist SELECT g, 0, 'back' FROM generate_series(3, 30000, 3) g WHERE g % 9 = 0;
       UPDATE hist SET id = id + 100000 WHERE id % 10 = 1;
       UPDATE acc SET a = a + 1;
       COMMIT`,
      [],
      'large',
    );
    const stopAt = await currentLsn(source, 'large');
    const result = await syncDatabase(task, 'large', { fromLsn: start, stopAt });
    expect(result.transactions).toBe(1);
    await expectSame('large');
  });

  it('stops with a clear error when a batched update or delete finds its row missing on the target', async () => {
    const { task, start } = await sync('missing');
    await target.query(`DELETE FROM acc WHERE id = 7`, [], 'missing');
    await source.query(`UPDATE acc SET a = a + 1 WHERE id BETWEEN 5 AND 9`, [], 'missing');
    const stopAt = await currentLsn(source, 'missing');
    const e = await syncDatabase(task, 'missing', { fromLsn: start, stopAt }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DtsError);
    expect((e as DtsError).message).toBe(
      'target: the row of public.acc that the source changed (update) is not on the target',
    );
    // Nothing of the failed batch was kept.
    expect(await storedPosition(target, 'missing')).toBeUndefined();
    const { rows } = await target.query(`SELECT sum(a)::int AS s FROM acc`, [], 'missing');
    expect(rows[0]).toEqual({ s: 1275 - 7 });
  });

  it('commits nothing after a failed batch, though the batches before it commit while the next is decoded', async () => {
    const { task, start } = await sync('missing_later');
    await target.query(`DELETE FROM acc WHERE id = 7`, [], 'missing_later');
    // Thousands of one-row transactions on each side of the one that fails: the batches before it
    // commit in the background while later ones are decoded, and none after it may reach the target.
    const inserts = (from: number, to: number) =>
      `DO $$ BEGIN FOR i IN ${from}..${to} LOOP INSERT INTO hist VALUES (i, 1, 'x'); COMMIT; END LOOP; END $$`;
    await source.query(inserts(1, 7_000), [], 'missing_later');
    const beforeFailing = await currentLsn(source, 'missing_later');
    await source.query(`UPDATE acc SET a = a + 1 WHERE id BETWEEN 5 AND 9`, [], 'missing_later');
    await source.query(inserts(7_001, 14_000), [], 'missing_later');
    const stopAt = await currentLsn(source, 'missing_later');
    const e = await syncDatabase(task, 'missing_later', { fromLsn: start, stopAt }).catch((x: unknown) => x);
    expect((e as DtsError).message).toBe(
      'target: the row of public.acc that the source changed (update) is not on the target',
    );
    const stored = await storedPosition(target, 'missing_later');
    expect(stored !== undefined && stored <= beforeFailing).toBe(true);
    const { rows } = await target.query(
      `SELECT count(*)::int AS n, coalesce(max(id), 0)::int AS top FROM hist`,
      [],
      'missing_later',
    );
    const { n, top } = rows[0] as { n: number; top: number };
    // A prefix of the transactions before the failing one, committed; nothing after it.
    expect(n).toBe(top);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(7_000);
    const sum = await target.query(`SELECT sum(a)::int AS s FROM acc`, [], 'missing_later');
    expect(sum.rows[0]).toEqual({ s: 1275 - 7 });
  });

  it('applies batched updates and deletes of a table whose key has no index on the target (joins on around them)', async () => {
    const { task, start } = await sync('noindex');
    // The apply session turns hash and merge joins off for key lookups; without the key's index on the
    // target they are turned on again around this table's statements, and the row counts still line up.
    await target.query(`ALTER TABLE hist DROP CONSTRAINT hist_pkey`, [], 'noindex');
    await source.query(
      `INSERT INTO hist SELECT g, g % 50, md5(g::text) FROM generate_series(1, 3000) g;
       UPDATE hist SET v = 'odd' WHERE id % 2 = 1;
       UPDATE acc SET a = a * 2 WHERE id % 3 = 0;
       DELETE FROM hist WHERE id % 3 = 0;
       DELETE FROM acc WHERE id % 5 = 0;
       UPDATE hist SET id = id + 100000 WHERE id % 10 = 1`,
      [],
      'noindex',
    );
    const stopAt = await currentLsn(source, 'noindex');
    const result = await syncDatabase(task, 'noindex', { fromLsn: start, stopAt });
    expect(result.transactions).toBe(1);
    await expectSame('noindex');
  });

  it('sends runs of inserts as COPY with every odd value intact (escapes, NULL vs empty, arrays, bytea, identity, partitions)', async () => {
    const { task, start } = await sync('copy');
    // Each run is over the COPY threshold; the values are what COPY's text format must escape or keep.
    await source.query(
      `BEGIN;
       INSERT INTO odd
       SELECT g,
              CASE g % 8
                WHEN 0 THEN E'tab\\there\\nnew line\\r\\ncrlf'
                WHEN 1 THEN E'back\\\\slash \\\\N \\\\. it''s "quoted"'
                WHEN 2 THEN ''
                WHEN 3 THEN NULL
                WHEN 4 THEN 'ÜberTable 日本語 🐘'
                WHEN 5 THEN E'\\\\.'
                WHEN 6 THEN '\\N'
                ELSE repeat('x', g)
              END,
              ARRAY['a', NULL, E'b\\tc', '"q"', E'back\\\\slash', ''],
              CASE WHEN g % 2 = 0 THEN '\\x00ff005c0a09'::bytea ELSE ''::bytea END,
              jsonb_build_object('k', E'v\\n\\t"', 'n', g),
              CASE WHEN g % 5 = 0 THEN 'NaN'::numeric ELSE g / 7.0 END,
              '2024-02-29 23:59:59.123456+00'::timestamptz + g * interval '1 microsecond',
              g * interval '1 day 00:00:00.000001'
       FROM generate_series(1, 300) g;
       INSERT INTO ida (v) SELECT 'v' || g FROM generate_series(1, 150) g;
       INSERT INTO parts SELECT g, E'p\\t' || g FROM generate_series(1, 2000) g;
       COMMIT`,
      [],
      'copy',
    );
    await source.query(
      `INSERT INTO odd VALUES (1000, E'one\\trow', NULL, NULL, NULL, NULL, NULL, NULL)`,
      [],
      'copy',
    );
    const stopAt = await currentLsn(source, 'copy');
    const result = await syncDatabase(task, 'copy', { fromLsn: start, stopAt });
    expect(result.transactions).toBe(2);
    await expectSame('copy');
    const { rows } = await target.query(
      `SELECT count(*) FILTER (WHERE t IS NULL)::int AS nulls, count(*) FILTER (WHERE t = '')::int AS empty,
              count(*) FILTER (WHERE b = '\\x00ff005c0a09'::bytea)::int AS bytea
       FROM odd`,
      [],
      'copy',
    );
    expect(rows[0]).toEqual({ nulls: 38, empty: 38, bytea: 150 });
  });
});
