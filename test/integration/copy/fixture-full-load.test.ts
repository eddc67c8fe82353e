import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullLoad } from '../../../src/copy/index.js';
import type { FullLoadEvent, FullLoadReport } from '../../../src/copy/index.js';
import { readTaskState } from '../../../src/state/store.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { openSession, startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { schemaFingerprint } from '../../harness/schema-fingerprint.js';
import { digests, EXPECTED_COUNTS, FIXTURE_ROLES, fullTask, loadFixture, tablesOf } from './helpers.js';

let source14: TestServer;
let target17: TestServer;
let target18: TestServer;
let report: FullLoadReport;
const events: FullLoadEvent[] = [];

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  [source14, target17, target18] = await Promise.all([
    startServer({ version: 14 }),
    startServer({ version: 17 }),
    startServer({ version: 18 }),
  ]);
  await Promise.all([loadFixture(source14, 'fixture'), loadFixture(target17, 'fixture17')]);
  for (const t of [target17, target18])
    for (const r of FIXTURE_ROLES)
      await t.query(
        `DO $$ BEGIN CREATE ROLE "${r}" NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      );
  await target17.query('CREATE DATABASE copied');
  await target18.query('CREATE DATABASE copied');
  report = await runFullLoad(fullTask(source14, 'fixture', target17, 'copied'), {
    onEvent: (e) => events.push(e),
  });
});

afterAll(async () => {
  await Promise.all([source14, target17, target18].filter(Boolean).map((s) => s.stop()));
});

async function expectSameTables(source: TestServer, sdb: string, target: TestServer, tdb: string) {
  const tables = await tablesOf(source, sdb);
  expect(await tablesOf(target, tdb)).toEqual(tables);
  const [sourceDigests, targetDigests] = await Promise.all([
    digests(source, sdb, tables),
    digests(target, tdb, tables),
  ]);
  for (const t of tables) expect(targetDigests[t], t).toEqual(sourceDigests[t]);
}

describe('mode: full, fixture PostgreSQL 14 -> 17', () => {
  it('loads, with the schema stages and the copy all reported ok', () => {
    expect(report.preData.ok).toBe(true);
    expect(report.postData?.databases[0]?.failed).toEqual([]);
    expect(report.ok).toBe(true);
    const db = report.databases[0]!;
    expect(db.temporarySlot).toBe(true);
    expect(db.consistentPoint).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  it('copies every table row for row', async () => {
    await expectSameTables(source14, 'fixture', target17, 'copied');
  });

  it('ends with the same schema as the source: keys and indexes built table by table, the rest at the end', async () => {
    expect(await schemaFingerprint(target17, 'copied')).toEqual(await schemaFingerprint(source14, 'fixture'));
    const built = events.filter((e) => e.type === 'table-post-data');
    expect(built.length).toBeGreaterThan(0);
    for (const e of built) expect(e, e.table).toMatchObject({ failed: 0, already: 0 });
    // Every per-table build comes right after its table's last unit, before the end of the copy.
    const copyEnd = events.findIndex((e) => e.type === 'phase' && e.phase === 'large objects');
    for (const e of built) expect(events.indexOf(e)).toBeLessThan(copyEnd);
    // Every table and partitioned table has statistics: leaves right after their load, the rest at the end.
    const unanalyzed = await target17.query(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '_dts') AND n.nspname !~ '^pg_toast'
         AND ((c.relkind = 'r' AND (c.reltuples < 0 OR (c.reltuples > 0 AND NOT EXISTS
                 (SELECT 1 FROM pg_statistic s WHERE s.starelid = c.oid))))
           OR (c.relkind = 'p' AND NOT EXISTS (SELECT 1 FROM pg_statistic s WHERE s.starelid = c.oid)))`,
      [],
      'copied',
    );
    expect(unanalyzed.rows).toEqual([]);
    const post = report.postData!.databases[0]!;
    expect(post.committed).toBe(true);
    expect(post.created.filter((o) => o.kind === 'foreign key').length).toBeGreaterThan(0);
  });

  it('has the expected row counts, and COPY counted them', async () => {
    const db = report.databases[0]!;
    const session = await openSession(target17, 'copied');
    try {
      for (const [table, count] of Object.entries(EXPECTED_COUNTS)) {
        const { rows } = await session.query(`SELECT count(*)::int AS n FROM ONLY ${table}`);
        expect(rows[0]!.n, table).toBe(count);
      }
    } finally {
      await session.end();
    }
    const copied = Object.fromEntries(
      db.tables.filter((t) => t.rows > 0).map((t) => [`${t.schema}.${t.name}`, t.rows]),
    );
    expect(Object.values(copied).reduce((a, b) => a + b, 0)).toBe(
      Object.values(EXPECTED_COUNTS).reduce((a, b) => a + b, 0),
    );
  });

  it('uses binary for built-in columns, text for user-defined types', () => {
    const db = report.databases[0]!;
    const format = (name: string) => db.tables.find((t) => `${t.schema}.${t.name}` === name)?.format;
    expect(format('app.events')).toBeDefined();
    expect(db.tables.some((t) => t.format === 'binary')).toBe(true);
    expect(db.tables.some((t) => t.format === 'text')).toBe(true);
    for (const t of db.tables.filter((t) => t.format === 'text')) expect(t.formatReason).toBeTruthy();
  });

  it('keeps the TOASTed megabyte values intact', async () => {
    const q = `SELECT md5(string_agg(md5(t::text), '' ORDER BY t::text)) AS h FROM app.texts t`;
    expect((await target17.query(q, [], 'copied')).rows).toEqual(
      (await source14.query(q, [], 'fixture')).rows,
    );
    const big = `SELECT max(octet_length(t::text)) AS n FROM app.blobs t`;
    const n = (await target17.query(big, [], 'copied')).rows[0]!.n;
    expect(Number(n)).toBeGreaterThan(1_000_000);
    expect((await target17.query(big, [], 'copied')).rows).toEqual(
      (await source14.query(big, [], 'fixture')).rows,
    );
  });

  it('sets sequences to the source values', async () => {
    const q = `SELECT schemaname, sequencename, last_value::text FROM pg_sequences
               WHERE schemaname NOT IN ('_dts') ORDER BY 1, 2`;
    expect((await target17.query(q, [], 'copied')).rows).toEqual(
      (await source14.query(q, [], 'fixture')).rows,
    );
    // is_called too: the next value is the same on both sides.
    expect(
      (await target17.query(`SELECT nextval('app.invoice_no_seq')::text AS v`, [], 'copied')).rows,
    ).toEqual([{ v: '7000' }]);
  });

  it('refreshes the materialized view that was populated, leaves the other one empty', async () => {
    const q = `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS h, count(*) AS n FROM app.daily_event_counts t`;
    const target = (await target17.query(q, [], 'copied')).rows;
    expect(Number(target[0]!.n)).toBeGreaterThan(0);
    expect(target).toEqual((await source14.query(q, [], 'fixture')).rows);
    const populated = await target17.query(
      `SELECT relname, relispopulated FROM pg_class WHERE relkind = 'm' ORDER BY 1`,
      [],
      'copied',
    );
    expect(populated.rows).toEqual([
      { relname: 'daily_event_counts', relispopulated: true },
      { relname: 'unpopulated_summary', relispopulated: false },
    ]);
  });

  it('copies the large object with its owner, grant and comment', async () => {
    const q = `SELECT m.oid::text, pg_get_userbyid(m.lomowner) AS owner, m.lomacl::text AS acl,
                      obj_description(m.oid, 'pg_largeobject') AS comment, md5(lo_get(m.oid)) AS h
               FROM pg_largeobject_metadata m ORDER BY 1`;
    const before = (await source14.query(q, [], 'fixture')).rows;
    expect(before).toHaveLength(1);
    expect((await target17.query(q, [], 'copied')).rows).toEqual(before);
    expect(report.databases[0]!.largeObjects.count).toBe(1);
  });

  it('records the load in _dts on the target, and leaves no slot on the source', async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      host: target17.host,
      port: target17.port,
      user: 'postgres',
      password: SUPERUSER_PASSWORD,
      database: 'copied',
    });
    await client.connect();
    try {
      const state = await readTaskState(client, 'copy');
      expect(state?.phase).toBe('done');
      expect(state?.loads[0]).toMatchObject({
        sourceDatabase: 'fixture',
        consistentPoint: report.databases[0]!.consistentPoint,
        phase: 'done',
      });
      expect(state!.tables.every((t) => t.done)).toBe(true);
      expect(state!.tables.length).toBe(report.databases[0]!.tables.length);
      expect(state!.timings.map((t) => t.phase)).toEqual(expect.arrayContaining(['copy', 'sequences']));
    } finally {
      await client.end();
    }
    expect((await source14.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
  });

  it('emits progress events a renderer can use', () => {
    const types = new Set(events.map((e) => e.type));
    for (const t of ['phase', 'snapshot', 'plan', 'unit-started', 'unit-done'])
      expect(types.has(t as never), t).toBe(true);
    const done = events.filter((e) => e.type === 'unit-done');
    expect(done.length).toBe(report.databases[0]!.tables.reduce((n, t) => n + t.parts, 0));
  });
});

describe('mode: full, fixture PostgreSQL 17 -> 18, every table split into block ranges', () => {
  it('copies exactly the same rows as the source (split tables too)', async () => {
    const r = await runFullLoad(
      fullTask(target17, 'fixture17', target18, 'copied', { splitTableBytes: 1, parallel: 3 }),
    );
    expect(r.ok).toBe(true);
    expect(await schemaFingerprint(target18, 'copied')).toEqual(
      await schemaFingerprint(target17, 'fixture17'),
    );
    const split = r.databases[0]!.tables.filter((t) => t.parts > 1);
    expect(split.map((t) => `${t.schema}.${t.name}`)).toEqual(expect.arrayContaining(['app.events']));
    await expectSameTables(target17, 'fixture17', target18, 'copied');
  });
});
