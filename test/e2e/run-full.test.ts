import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../harness/pg-server.js';
import { digest, EXPECTED_COUNTS, loadFixture, tablesOf } from '../integration/copy/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-run-full-e2e-'));
const env = { DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD, DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD };

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await loadFixture(source, 'shop');
  await source.query('CREATE DATABASE small');
  await source.query(
    'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g',
    [],
    'small',
  );
  await target.query('CREATE ROLE dts_fixture_owner NOLOGIN; CREATE ROLE dts_fixture_reader NOLOGIN');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

function taskFile(name: string, sourceDb: string, targetDb: string, extra = ''): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `name: ${name}
mode: full
source:
  url: ${source.url(sourceDb)}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${target.url(targetDb)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
${extra}`,
  );
  return f;
}

describe('dts run (mode: full) on the built CLI', () => {
  it('copies the fixture 14 -> 17: exit 0, progress lines, every table equal, no slot left behind', async () => {
    const r = await runDts(['run', taskFile('shop', 'shop', 'shop')], { env });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SUPERUSER_PASSWORD);
    const tables = await tablesOf(source, 'shop');
    expect(await tablesOf(target, 'shop')).toEqual(tables);
    for (const t of tables)
      expect(`${t} ${await digest(target, 'shop', t)}`).toBe(`${t} ${await digest(source, 'shop', t)}`);
    for (const [t, n] of Object.entries(EXPECTED_COUNTS)) {
      expect(
        `${t} ${(await target.query(`SELECT count(*)::int AS n FROM ONLY ${t}`, [], 'shop')).rows[0]!.n}`,
      ).toBe(`${t} ${n}`);
    }
    const slots = await source.query('SELECT slot_name FROM pg_replication_slots');
    expect(slots.rows).toEqual([]);
  });

  it('runs a queue: a task that fails validation is reported and the others still run', async () => {
    const bad = taskFile('bad', 'small', 'small_bad');
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('DTS_SOURCE_PASSWORD', 'DTS_WRONG_PW'));
    const good = taskFile('good', 'small', 'small_copy', 'schedule: 2020-01-01T00:00:00Z\n');
    const r = await runDts(['run', bad, good], { env: { ...env, DTS_WRONG_PW: 'nope-nope' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad: not started: validate found problems');
    expect(r.stdout).toContain('password authentication failed for user "postgres"');
    expect(await digest(target, 'small_copy', 'public.t')).toBe(await digest(source, 'small', 'public.t'));
    const dbs = await target.query(`SELECT datname FROM pg_database WHERE datname = 'small_bad'`);
    expect(dbs.rows).toEqual([]);
  });

  it('reads every task file before starting any: a broken third file leaves the first untouched', async () => {
    const ok = taskFile('first', 'small', 'never_created');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: broken\nmode: full\nsource: {host: a}\ntarget: {hots: b}\n');
    const r = await runDts(['run', ok, broken], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('target.hots (line 4): unknown key; did you mean "host"?');
    const dbs = await target.query(`SELECT datname FROM pg_database WHERE datname = 'never_created'`);
    expect(dbs.rows).toEqual([]);
  });
});
