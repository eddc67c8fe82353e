import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullLoad } from '../../../src/copy/index.js';
import { verify } from '../../../src/verify/verify.js';
import type { TableVerdict } from '../../../src/verify/types.js';
import { loadCorpora } from '../../harness/corpora.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { EXPECTED_COUNTS, FIXTURE_ROLES, fullTask, loadFixture } from '../copy/helpers.js';

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await loadFixture(source, 'fixture');
  for (const r of FIXTURE_ROLES) await target.query(`CREATE ROLE "${r}" NOLOGIN`);
  await target.query('CREATE DATABASE copied');
  const report = await runFullLoad(fullTask(source, 'fixture', target, 'copied'));
  expect(report.ok).toBe(true);
});

afterAll(async () => {
  await Promise.all([source, target].filter(Boolean).map((s) => s.stop()));
});

const task = () => fullTask(source, 'fixture', target, 'copied');
const byName = (tables: readonly TableVerdict[], name: string) => {
  const t = tables.find((x) => `${x.schema}.${x.name}` === name);
  if (!t) throw new Error(`${name} was not verified`);
  return t;
};

describe('dts verify 14 -> 17 (library)', () => {
  it('reports equal after a clean migration of the fixture: every table, its rows and its structure', async () => {
    const report = await verify(task());
    expect(report.schema).toEqual([]);
    expect(report.tables.filter((t) => t.status !== 'ok')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.consistency.mode).toBe('current');
    // Every table the fixture fills is compared, with the fixture's row counts on both sides.
    for (const [qualified, rows] of Object.entries(EXPECTED_COUNTS)) {
      const name = [...qualified.matchAll(/"((?:[^"]|"")*)"|([^."]+)/g)]
        .map((m) => (m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]))
        .join('.');
      const t = byName(report.tables, name);
      expect([name, t.sourceRows, t.targetRows]).toEqual([name, rows, rows]);
    }
    expect(byName(report.tables, 'Sales Ünïcode.Order Items').key).toEqual(['order_id', 'line_no']);
  });

  it('names exactly the rows changed behind its back on the target: update, delete, insert, a changed NULL', async () => {
    await target.query(
      `SET session_replication_role = replica;
       UPDATE app."select" SET "order" = "order" + 1000 WHERE id = (SELECT min(id) FROM app."select");
       DELETE FROM app."select" WHERE id = (SELECT max(id) FROM app."select");
       INSERT INTO app."select" (id, "from") VALUES (424242, '2024-01-01');
       UPDATE "Sales Ünïcode".orders SET note = NULL
         WHERE id = (SELECT min(id) FROM "Sales Ünïcode".orders WHERE note IS NOT NULL);`,
      [],
      'copied',
    );
    const ids = await source.query<{ lo: string; hi: string }>(
      `SELECT min(id)::text AS lo, max(id)::text AS hi FROM app."select"`,
      [],
      'fixture',
    );
    const order = await source.query<{ id: string }>(
      `SELECT min(id)::text AS id FROM "Sales Ünïcode".orders WHERE note IS NOT NULL`,
      [],
      'fixture',
    );
    const report = await verify(task(), { tables: ['app.select', '*.orders', 'app.customers'] });
    expect(report.ok).toBe(false);
    expect(report.tables.map((t) => `${t.schema}.${t.name} ${t.status}`)).toEqual([
      'Sales Ünïcode.orders different',
      'app.customers ok',
      'app.select different',
    ]);
    const select = byName(report.tables, 'app.select');
    expect([select.missing, select.extra, select.changed]).toEqual([1, 1, 1]);
    const examples = select.examples.map((e) => `${e.kind} ${JSON.stringify(e.key)}`).sort();
    expect(examples).toEqual([
      `changed {"id":"${ids.rows[0]!.lo}"}`,
      `extra {"id":"424242"}`,
      `missing {"id":"${ids.rows[0]!.hi}"}`,
    ]);
    // Never row data unless asked.
    expect(JSON.stringify(report)).not.toMatch(/"(source|target)Row"/);
    const orders = byName(report.tables, 'Sales Ünïcode.orders');
    expect(orders.examples).toEqual([
      {
        kind: 'changed',
        key: { id: order.rows[0]!.id },
        rowHash: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    ]);

    const shown = await verify(task(), { tables: ['app.select'], showRows: true });
    const changed = shown.tables[0]!.examples.find((e) => e.kind === 'changed')!;
    expect(changed.sourceRow).not.toEqual(changed.targetRow);
    expect(changed.targetRow).toMatch(/^\(/);
  });

  it('compares a table without a key as a multiset: a duplicated row is one extra row', async () => {
    await source.query(`CREATE TABLE public.nokey (a int, b text)`, [], 'fixture');
    await target.query(`CREATE TABLE public.nokey (a int, b text)`, [], 'copied');
    for (const [s, db] of [
      [source, 'fixture'],
      [target, 'copied'],
    ] as const)
      await s.query(
        `INSERT INTO public.nokey SELECT g % 50, 'v' || (g % 7) FROM generate_series(1, 3000) g`,
        [],
        db,
      );
    const equal = await verify(task(), { tables: ['public.nokey'] });
    expect(equal.tables.map((t) => [t.status, t.key, t.sourceRows])).toEqual([['ok', [], 3000]]);
    await target.query(`INSERT INTO public.nokey VALUES (1, 'v1')`, [], 'copied');
    const report = await verify(task(), { tables: ['public.nokey'] });
    const t = report.tables[0]!;
    expect([t.status, t.missing, t.extra, t.changed, t.targetRows]).toEqual(['different', 0, 1, 0, 3001]);
    expect(t.examples[0]).toMatchObject({ kind: 'extra', key: undefined });
  });

  it('reports structural differences: a missing index and a changed column type', async () => {
    await target.query(`CREATE TABLE app.verify_shape (id int PRIMARY KEY, v int);`, [], 'copied');
    await source.query(
      `CREATE TABLE app.verify_shape (id int PRIMARY KEY, v bigint); CREATE INDEX verify_shape_v ON app.verify_shape (v)`,
      [],
      'fixture',
    );
    const report = await verify(task(), { tables: ['app.verify_shape'] });
    expect(report.schema.map((f) => `${f.object}: ${f.problem}`)).toEqual([
      'table app.verify_shape: column v: type bigint on the source, integer on the target',
      'index app.verify_shape_v: missing on the target',
    ]);
    expect(report.ok).toBe(false);
  });

  it('samples deterministically: the same part of each table every time', async () => {
    const a = await verify(task(), { tables: ['app.events'], samplePercent: 10 });
    const b = await verify(task(), { tables: ['app.events'], samplePercent: 10 });
    const t = a.tables[0]!;
    expect(t.status).toBe('ok');
    expect(t.sourceRows).toBeGreaterThan(0);
    expect(t.sourceRows).toBeLessThan(5001);
    expect(t.bucketsCompared).toBeLessThan(t.buckets);
    expect(b.tables[0]!.sourceRows).toBe(t.sourceRows);
  });

  it('reports equal after a clean migration of a corpus (pagila), with several sessions', async () => {
    await loadCorpora(source, ['pagila']);
    await target.query('DROP DATABASE IF EXISTS pagila_copy');
    await target.query('CREATE DATABASE pagila_copy');
    const pagila = fullTask(source, 'pagila', target, 'pagila_copy', {}, 'pagila');
    const load = await runFullLoad(pagila);
    expect(load.ok).toBe(true);
    const report = await verify(pagila, { parallel: 3 });
    expect(report.tables.filter((t) => t.status !== 'ok')).toEqual([]);
    expect(report.schema).toEqual([]);
    expect(report.totals.sourceRows).toBeGreaterThan(40_000);
    expect(report.totals.targetRows).toBe(report.totals.sourceRows);
  });
});
