import type { TestServer } from '../../harness/pg-server.js';
import { client } from './helpers.js';

/** Tables of every replica-identity shape, with quoted names, NULLs and a partitioned table. */
export const SHAPES_DDL = `
CREATE TABLE pk (id int PRIMARY KEY, note text, n numeric);
CREATE TABLE "Using Index" (a int NOT NULL, b text NOT NULL, v text, UNIQUE (a, b));
ALTER TABLE "Using Index" REPLICA IDENTITY USING INDEX "Using Index_a_b_key";
CREATE TABLE "select" ("a""b" int, c text, d jsonb);
ALTER TABLE "select" REPLICA IDENTITY FULL;
CREATE TABLE big (id int PRIMARY KEY, payload text, counter int);
CREATE TABLE audit (id bigserial PRIMARY KEY, what text);
CREATE TABLE child (id int PRIMARY KEY, pk_id int REFERENCES pk ON DELETE CASCADE);
CREATE TABLE measures (at date NOT NULL, city text NOT NULL, v int, PRIMARY KEY (at, city)) PARTITION BY RANGE (at);
CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE "ÜberTable" (id int PRIMARY KEY, t text);
`;

export const SHAPES_TABLES = [
  'pk',
  '"Using Index"',
  '"select"',
  'big',
  'audit',
  'child',
  'measures',
  '"ÜberTable"',
];

/** Inserts, updates (incl. of the key), deletes and truncates on every shape. */
export async function shapesWorkload(source: TestServer, database: string): Promise<void> {
  const c = await client(source, database);
  const q = (s: string) => c.query(s);
  try {
    await q(`INSERT INTO pk SELECT g, 'n' || g, g / 7.0 FROM generate_series(1, 200) g`);
    await q(`UPDATE pk SET note = NULL WHERE id % 5 = 0`);
    await q(`UPDATE pk SET id = id + 1000 WHERE id % 11 = 0`); // the key changes
    await q(`DELETE FROM pk WHERE id % 13 = 0`);
    await q(`INSERT INTO "Using Index" SELECT g % 10, 'b' || g, NULL FROM generate_series(1, 50) g`);
    await q(`UPDATE "Using Index" SET v = 'x' || a WHERE a < 5`);
    await q(`UPDATE "Using Index" SET b = b || '!' WHERE a = 7`); // identity columns change
    await q(`DELETE FROM "Using Index" WHERE a = 3`);
    // FULL identity: duplicates and NULLs; exactly one of two identical rows changes.
    await q(
      `INSERT INTO "select" VALUES (1, 'a', '{"k": 1}'), (1, 'a', '{"k": 1}'), (NULL, NULL, NULL), (NULL, NULL, NULL), (2, NULL, '[]')`,
    );
    await q(
      `UPDATE "select" SET c = 'changed' WHERE ctid = (SELECT ctid FROM "select" WHERE "a""b" = 1 LIMIT 1)`,
    );
    await q(`DELETE FROM "select" WHERE ctid = (SELECT ctid FROM "select" WHERE "a""b" IS NULL LIMIT 1)`);
    await q(`UPDATE "select" SET "a""b" = 3 WHERE c IS NULL AND "a""b" = 2`);
    // Unchanged TOAST: a >1 MB value, then another column changes (pgoutput does not send the value).
    await q(`INSERT INTO big SELECT 1, string_agg(md5(g::text), '') , 0 FROM generate_series(1, 40000) g`);
    await q(`INSERT INTO big VALUES (2, 'small', 0)`);
    await q(`UPDATE big SET counter = counter + 1`);
    await q(`UPDATE big SET counter = counter + 1 WHERE id = 1`);
    // TRUNCATE with RESTART IDENTITY, then new rows get ids from 1 again.
    await q(`INSERT INTO audit (what) SELECT 'x' || g FROM generate_series(1, 20) g`);
    await q(`TRUNCATE audit RESTART IDENTITY`);
    await q(`INSERT INTO audit (what) VALUES ('after truncate')`);
    await q(`INSERT INTO child SELECT id, id FROM pk WHERE id < 50`);
    await q(`TRUNCATE pk, child CASCADE`);
    await q(`INSERT INTO pk VALUES (1, 'again', 1.5)`);
    await q(
      `INSERT INTO measures SELECT date '2024-06-01' + g, 'c' || (g % 3), g FROM generate_series(0, 300) g`,
    );
    await q(`UPDATE measures SET v = -v WHERE city = 'c1'`);
    await q(`UPDATE measures SET at = at + 200 WHERE at = '2024-12-01'`); // moves to another partition
    await q(`DELETE FROM measures WHERE city = 'c2' AND v % 2 = 0`);
    await q(`INSERT INTO "ÜberTable" VALUES (1, 'ü'), (2, '"quoted"')`);
    await q(`UPDATE "ÜberTable" SET t = t || '''' `);
  } finally {
    await c.end();
  }
}

/** Every data type the issue lists, with edge values (each row's text form is compared). */
export const TYPES_DDL = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TYPE pair AS (x int, label text);
CREATE TABLE types (
  id int PRIMARY KEY,
  n numeric, n2 numeric(20, 10), f8 float8, f4 real, i8 bigint,
  ts timestamp, tstz timestamptz, d date, iv interval, t time, ttz timetz,
  arr int[], tarr text[], j jsonb, js json, b bytea, m mood, ma mood[], dom positive, comp pair,
  r int4range, tr tstzrange, u uuid, bo boolean, x xml, p point, bits bit varying, inet inet, mac macaddr,
  money money, c char(5)
);
CREATE TABLE types_full (LIKE types);
ALTER TABLE types_full REPLICA IDENTITY FULL;
`;

export async function typesWorkload(source: TestServer, database: string): Promise<void> {
  const c = await client(source, database);
  try {
    const row = (id: number) => `(${id},
      '12345678901234567890.123456789012345678901234567890', 1.1000000000, 'NaN', '-Infinity', 9223372036854775807,
      'infinity', '2024-02-29 23:59:59.123456+05:30', '-infinity', '1 year 2 mons 3 days 04:05:06.789012', '24:00:00', '23:59:59.999999+14',
      '{1,NULL,3}', '{"a b","NULL",NULL,"é\\"q"}', '{"k": [1, 2.50, null], "s": "\\u00e9"}', '{"dup": 1, "dup": 2}', '\\x00ff5c27',
      'happy', '{sad,happy}', 7, '(1,"a,b")', '[1,10)', '[2024-01-01 00:00:00.000001+00,)', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      true, '<a>x</a>', '(1.5,-2)', B'1011', '192.168.0.1/24', '08:00:2b:01:02:03', 12.34, 'ab')`;
    const nulls = (id: number) => `(${id}${', NULL'.repeat(31)})`;
    for (const t of ['types', 'types_full']) {
      await c.query(`INSERT INTO ${t} VALUES ${row(1)}, ${nulls(2)}, ${row(3)}`);
      await c.query(
        `INSERT INTO ${t} (id, n, f8, f4, tstz, iv) VALUES (4, 'NaN', 'Infinity', 'NaN', 'infinity', '-178000000 years')`,
      );
      await c.query(
        `UPDATE ${t} SET n = -0.000000000000000000001, tstz = '1999-12-31 23:59:59.999999-12', f8 = 1e308 WHERE id = 3`,
      );
      await c.query(`UPDATE ${t} SET j = '{}' WHERE id = 1`);
      await c.query(`DELETE FROM ${t} WHERE id = 2`);
      await c.query(`INSERT INTO ${t} SELECT 5, n, n2, f8, f4, i8 FROM ${t} WHERE id = 1`);
    }
  } finally {
    await c.end();
  }
}

/** Transfers between accounts plus an insert-only log without any unique constraint (duplicates show). */
export const CONCURRENT_DDL = `
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 20) g;
CREATE TABLE log (writer int, seq int, note text);
ALTER TABLE log REPLICA IDENTITY FULL;
`;

/**
 * Writers whose transactions overlap on purpose: each round, every writer BEGINs and writes, then they
 * COMMIT in reverse order, so the transaction that began first commits last.
 */
export async function concurrentWorkload(
  source: TestServer,
  database: string,
  rounds = 40,
  writers = 4,
): Promise<{ transactions: number; beganFirstCommittedLast: number }> {
  const clients = await Promise.all(Array.from({ length: writers }, () => client(source, database)));
  let transactions = 0;
  let inverted = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [w, c] of clients.entries()) {
        await c.query('BEGIN');
        await c.query(`INSERT INTO log VALUES ($1, $2, 'begin')`, [w, r]);
        const from = ((r * writers + w) % 20) + 1;
        await c.query(`UPDATE accounts SET balance = balance - 1 WHERE id = $1`, [from]);
      }
      const order = r % 2 === 0 ? [...clients.keys()].reverse() : [...clients.keys()];
      if (r % 2 === 0) inverted++;
      for (const w of order) {
        const c = clients[w]!;
        // The row this writer already holds (another's would wait for a COMMIT that comes later).
        await c.query(`UPDATE accounts SET balance = balance * 2 WHERE id = $1`, [
          ((r * writers + w) % 20) + 1,
        ]);
        await c.query(`INSERT INTO log VALUES ($1, $2, 'commit')`, [w, r]);
        await c.query('COMMIT');
        transactions++;
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  return { transactions, beganFirstCommittedLast: inverted };
}
