import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { env, startRun, statusUntil } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-odd-names-e2e-'));
/** A database name with a quote, a space, a semicolon and a comment: it names the slot and publication too. */
const DB = 'Odd "DB"; --';
const qdb = `"${DB.replaceAll('"', '""')}"`;

/**
 * Schemas, tables, columns, types, enum labels, sequences, indexes, constraints and views named with
 * quotes, spaces, unicode, mixed case, SQL keywords, semicolons, comments and dollar quotes. Any name
 * pasted into SQL unquoted would either fail or drop the table `y`.
 */
const ODD_DDL = `
CREATE TABLE y (id int PRIMARY KEY);
INSERT INTO y VALUES (1);
CREATE SCHEMA "My Schema";
CREATE SCHEMA "select";
CREATE SCHEMA "ünï; $$ code";
CREATE TABLE "x""; DROP TABLE y; --" (id int PRIMARY KEY, "a""b" text, "Mixed Case" int, "select" text,
  "$$" text, "; DELETE FROM y" int);
CREATE TYPE "My Schema"."Mood ""q""" AS ENUM ('a''b', 'x"y', '; DROP TABLE y; --', 'ü', '$$');
CREATE SEQUENCE "My Schema"."Seq; DROP TABLE y" START 100;
CREATE TABLE "My Schema"."Order Items" (
  id int PRIMARY KEY DEFAULT nextval('"My Schema"."Seq; DROP TABLE y"'),
  "Mood" "My Schema"."Mood ""q""", "ÜberCol" text, "from" int, "user" text);
ALTER SEQUENCE "My Schema"."Seq; DROP TABLE y" OWNED BY "My Schema"."Order Items".id;
CREATE INDEX "Idx ""quoted""; --" ON "My Schema"."Order Items" ("ÜberCol", "from");
CREATE TABLE "My Schema"."Ref" (id int PRIMARY KEY,
  item int REFERENCES "My Schema"."Order Items" (id) ON DELETE CASCADE,
  CONSTRAINT "chk; DROP TABLE y" CHECK (id > 0));
CREATE TABLE "select"."table" ("column" int PRIMARY KEY, "order" text,
  "group" int GENERATED ALWAYS AS IDENTITY);
CREATE TABLE "ünï; $$ code"."$$; SELECT 1; $$" (k text PRIMARY KEY, "v$$" text);
CREATE TABLE "ünï; $$ code"."Full ""FULL""" ("a b" text, "C" int);
ALTER TABLE "ünï; $$ code"."Full ""FULL""" REPLICA IDENTITY FULL;
CREATE TABLE "Parted; --" (id int, "at" int, v text, PRIMARY KEY (id, "at")) PARTITION BY RANGE ("at");
CREATE TABLE "Parted; -- low" PARTITION OF "Parted; --" FOR VALUES FROM (0) TO (100);
CREATE TABLE "Parted; -- high" PARTITION OF "Parted; --" FOR VALUES FROM (100) TO (200);
CREATE VIEW "My Schema"."View ""v""" AS SELECT id, "Mood" FROM "My Schema"."Order Items";
COMMENT ON TABLE "x""; DROP TABLE y; --" IS 'it''s; DROP TABLE y; --';
`;

async function rows(base: number): Promise<void> {
  await source.query(
    `INSERT INTO "x""; DROP TABLE y; --" SELECT g, 'a"b''' || g, g, 'select', '$$' || g || '$$', g
       FROM generate_series(${base}, ${base + 9}) g;
     INSERT INTO "My Schema"."Order Items" ("Mood", "ÜberCol", "from", "user")
       SELECT (enum_range(NULL::"My Schema"."Mood ""q"""))[g % 5 + 1], 'ü' || g, g, current_user
       FROM generate_series(${base}, ${base + 9}) g;
     INSERT INTO "My Schema"."Ref" SELECT g, (SELECT max(id) FROM "My Schema"."Order Items")
       FROM generate_series(${base}, ${base + 9}) g;
     INSERT INTO "select"."table" ("column", "order") SELECT g, 'o' || g FROM generate_series(${base}, ${base + 9}) g;
     INSERT INTO "ünï; $$ code"."$$; SELECT 1; $$" SELECT 'k$$' || g, $q$v'$$;$q$ || g FROM generate_series(${base}, ${base + 9}) g;
     INSERT INTO "ünï; $$ code"."Full ""FULL""" SELECT 'a;b' || (g % 3), g % 3 FROM generate_series(${base}, ${base + 9}) g;
     INSERT INTO "Parted; --" SELECT g, g % 200, 'p' || g FROM generate_series(${base}, ${base + 9}) g`,
    [],
    DB,
  );
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query(`CREATE DATABASE ${qdb}`);
  await source.query(ODD_DDL, [], DB);
  await rows(1);
  await source.query('ANALYZE', [], DB);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('odd identifiers: quotes, spaces, unicode, keywords, semicolons, $$ (14 -> 17)', () => {
  it('copies, syncs and completes every oddly named object, and nothing is injected', async () => {
    const file = join(dir, 'odd.yaml');
    const endpoint = (s: TestServer, variable: string) => `
  host: ${s.host}
  port: ${s.port}
  user: postgres
  database: '${DB.replaceAll("'", "''")}'
  password: \${${variable}}
  sslmode: disable`;
    writeFileSync(
      file,
      `name: odd
mode: full+incremental
source:${endpoint(source, 'DTS_SOURCE_PASSWORD')}
target:${endpoint(target, 'DTS_TARGET_PASSWORD')}
`,
    );
    const validated = await runDts(['validate', file], { env });
    expect(validated.stdout).not.toMatch(/FAIL/);
    expect(validated.code).toBe(0);
    const run = startRun([file], { ...env, DTS_SYNC_PROGRESS_MS: '1000' });
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      const copied = await compareDatabases(source, DB, target, DB);
      expect(copied.differences).toEqual([]);
      await rows(100);
      await source.query(
        `UPDATE "x""; DROP TABLE y; --" SET "a""b" = "a""b" || ';--', "Mixed Case" = -"Mixed Case" WHERE id % 2 = 0;
         UPDATE "My Schema"."Order Items" SET "Mood" = 'x"y' WHERE "from" % 3 = 0;
         DELETE FROM "My Schema"."Order Items" WHERE "from" % 4 = 0;
         UPDATE "select"."table" SET "order" = 'select * from y' WHERE "column" < 5;
         UPDATE "ünï; $$ code"."$$; SELECT 1; $$" SET k = k || '; --' WHERE "v$$" LIKE '%1';
         UPDATE "ünï; $$ code"."Full ""FULL""" SET "C" = 7 WHERE ctid = (SELECT min(ctid) FROM "ünï; $$ code"."Full ""FULL""" WHERE "C" = 1);
         DELETE FROM "ünï; $$ code"."Full ""FULL""" WHERE ctid = (SELECT min(ctid) FROM "ünï; $$ code"."Full ""FULL""" WHERE "C" = 2);
         UPDATE "Parted; --" SET "at" = "at" + 100 WHERE "at" < 50;
         TRUNCATE "x""; DROP TABLE y; --";
         INSERT INTO "x""; DROP TABLE y; --" (id, "select") VALUES (1, 'after truncate')`,
        [],
        DB,
      );
      const c = await runDts(['complete', file], { env });
      expect(run.stderr()).not.toMatch(/^error:/m);
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
    const synced = await compareDatabases(source, DB, target, DB);
    expect(synced.differences).toEqual([]);
    expect(synced.tables).toContain('public."x""; DROP TABLE y; --"');
    expect(synced.tables).toContain('public.y');
    expect((await target.query(`SELECT id FROM y`, [], DB)).rows).toEqual([{ id: 1 }]);
    // The sequence, index, constraint, view, enum labels and comment arrived under their own names.
    const objects = await target.query<{ o: string }>(
      `SELECT 'seq ' || last_value AS o FROM "My Schema"."Seq; DROP TABLE y"
       UNION ALL SELECT 'index ' || indexrelid::regclass::text FROM pg_index WHERE indexrelid = '"My Schema"."Idx ""quoted""; --"'::regclass
       UNION ALL SELECT 'check ' || conname FROM pg_constraint WHERE conname = 'chk; DROP TABLE y'
       UNION ALL SELECT 'view ' || count(*) FROM "My Schema"."View ""v"""
       UNION ALL SELECT 'labels ' || array_to_string(enum_range(NULL::"My Schema"."Mood ""q"""), '|')
       UNION ALL SELECT 'comment ' || obj_description('public."x""; DROP TABLE y; --"'::regclass, 'pg_class')`,
      [],
      DB,
    );
    const want = await source.query<{ o: string }>(
      `SELECT 'seq ' || last_value AS o FROM "My Schema"."Seq; DROP TABLE y"`,
      [],
      DB,
    );
    expect(objects.rows.map((r) => r.o)).toEqual([
      want.rows[0]!.o,
      'index "My Schema"."Idx ""quoted""; --"',
      'check chk; DROP TABLE y',
      `view ${synced.rows > 0 ? (await source.query(`SELECT count(*) AS n FROM "My Schema"."View ""v"""`, [], DB)).rows[0]!.n : 0}`,
      `labels a'b|x"y|; DROP TABLE y; --|ü|$$`,
      `comment it's; DROP TABLE y; --`,
    ]);
    expect((await source.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
    expect((await source.query(`SELECT pubname FROM pg_publication`, [], DB)).rows).toEqual([]);
  });
});
