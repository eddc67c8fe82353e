import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../harness/pg-server.js';
import { schemaFingerprint } from '../harness/schema-fingerprint.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-run-e2e-'));
const env = { DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD, DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD };
const fixture = (f: string) => readFileSync(new URL(`../../fixtures/${f}`, import.meta.url), 'utf8');

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query('CREATE DATABASE shop');
  await source.query(fixture('source-schema.sql'), [], 'shop');
  await source.query(fixture('source-data.sql'), [], 'shop');
  await target.query('CREATE ROLE dts_fixture_owner NOLOGIN; CREATE ROLE dts_fixture_reader NOLOGIN');
  await target.query('CREATE DATABASE shop');
  await target.query('CREATE DATABASE dry');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

function taskFile(name: string, targetDb: string, mode = 'structure'): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `name: ${name}
mode: ${mode}
source:
  url: ${source.url('shop')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${target.url(targetDb)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
`,
  );
  return f;
}

const userTables = async (db: string) =>
  (
    await target.query(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
      [],
      db,
    )
  ).rows[0]?.n as number;

describe('dts run (mode: structure) on the built CLI', () => {
  it('--dry-run prints the DDL plan and creates nothing', async () => {
    const r = await runDts(['run', '--dry-run', taskFile('dry', 'dry')], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-- dts plan for task dry (dry run: nothing was changed)');
    expect(r.stdout).toContain('CREATE SCHEMA IF NOT EXISTS "Sales Ünïcode";');
    expect(r.stdout).toMatch(/^CREATE TABLE "Sales Ünïcode"\."Order Items" \($/m);
    expect(r.stdout).toContain('-- post-data');
    expect(await userTables('dry')).toBe(0);
  });

  it('creates the schema: exit 0, a summary line, and the target schema equals the source', async () => {
    const r = await runDts(['run', taskFile('shop', 'shop')], { env });
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^created shop -> shop: \d+ objects \(\d+ pre-data, \d+ post-data\)$/m);
    expect(r.stdout).toMatch(/^schema of shop migrated in \d+\.\ds$/m);
    expect(r.stdout + r.stderr).not.toContain(SUPERUSER_PASSWORD);
    expect(await schemaFingerprint(target, 'shop')).toEqual(await schemaFingerprint(source, 'shop'));
  });

  it('creates the target database when it does not exist yet (the task file names it)', async () => {
    const r = await runDts(['run', taskFile('fresh', 'fresh_db')], { env });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain('fresh: creating database fresh_db on the target');
    const db = await target.query(
      `SELECT pg_encoding_to_char(encoding) AS enc FROM pg_database WHERE datname = 'fresh_db'`,
    );
    expect(db.rows).toEqual([{ enc: 'UTF8' }]);
    expect(await schemaFingerprint(target, 'fresh_db')).toEqual(await schemaFingerprint(source, 'shop'));
  });

  it('run again: validate stops it before anything is touched (exit 1, the clashing tables named)', async () => {
    const before = await schemaFingerprint(target, 'shop');
    const r = await runDts(['run', taskFile('again-validated', 'shop')], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ FAIL {2}target\.existing_objects +shop\.app\.lookup: /);
    expect(r.stderr).toContain(
      'again-validated: not started: validate found problems (fix them, or --no-validate to skip the checks)',
    );
    expect(await schemaFingerprint(target, 'shop')).toEqual(before);
  });

  it('run again without validate: every clash is reported with the server message, exit 4, nothing changes', async () => {
    const before = await schemaFingerprint(target, 'shop');
    const r = await runDts(['run', '--no-validate', '--json', taskFile('again', 'shop')], { env });
    expect(r.code).toBe(4);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.databases[0].committed).toBe(false);
    expect(report.databases[0].failed).toContainEqual(
      expect.objectContaining({ kind: 'table', name: 'app.lookup', sqlstate: '42P07' }),
    );
    expect(await schemaFingerprint(target, 'shop')).toEqual(before);
  });

  it('--dry-run of a full+incremental task prints the plan and touches nothing', async () => {
    const r = await runDts(['run', '--dry-run', taskFile('incr', 'dry', 'full+incremental')], { env });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CREATE TABLE');
    expect(await userTables('dry')).toBe(0);
  });

  it('--dry-run of a full task adds the copy plan: order, size, ranges, format and why, in text and --json', async () => {
    const r = await runDts(['run', '--dry-run', taskFile('copyplan', 'dry', 'full')], { env });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^-- copy plan shop -> dry: \d+ table\(s\) on \d+ worker\(s\), largest first; tables over .+ split into ctid block ranges$/m,
    );
    expect(r.stdout).toMatch(
      /^-- {3}1\. \S+: (~[\d,]+ rows|rows unknown \(never analyzed\)), .+, whole, (binary|text: .+)/m,
    );
    expect(r.stdout).toMatch(/^-- {3}\d+\. .+, text: column .+ has the user-defined type .+$/m);
    expect(r.stdout).toMatch(/; then \d+ key\(s\)\/index\(es\)$/m);
    expect(r.stdout).toContain(
      "assuming the target's encoding is the source's (UTF8); the target was not contacted",
    );

    const json = await runDts(['run', '--dry-run', '--json', taskFile('copyplan', 'dry', 'full')], { env });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.databases[0].objects.length).toBeGreaterThan(0);
    const copy = report.copy.databases[0];
    expect(copy).toMatchObject({ source: 'shop', target: 'dry', encoding: 'UTF8' });
    expect(copy.tables.map((t: { order: number }) => t.order)).toEqual(
      copy.tables.map((_: unknown, i: number) => i + 1),
    );
    const sizes = copy.tables.map((t: { estimatedBytes: number }) => t.estimatedBytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    for (const t of copy.tables.filter((t: { format: string }) => t.format === 'text'))
      expect(t.formatReason).toBeTruthy();
    expect(await userTables('dry')).toBe(0);
  });

  it('--dry-run splits a table bigger than splitTableBytes into ctid block ranges', async () => {
    const f = taskFile('copysplit', 'dry', 'full');
    writeFileSync(f, readFileSync(f, 'utf8') + 'options:\n  splitTableBytes: 8192\n');
    const r = await runDts(['run', '--dry-run', '--json', f], { env });
    expect(r.code).toBe(0);
    const tables = JSON.parse(r.stdout).copy.databases[0].tables;
    const split = tables.filter((t: { parts: number }) => t.parts > 1);
    expect(split.length).toBeGreaterThan(0);
    for (const t of split) {
      expect(t.ranges).toHaveLength(t.parts);
      expect(t.ranges[0].from).toBeUndefined();
      expect(t.ranges.at(-1).to).toBeUndefined();
    }
  });
});
