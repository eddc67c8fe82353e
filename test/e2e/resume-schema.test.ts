import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { schemaFingerprint } from '../harness/schema-fingerprint.js';
import { digest } from '../integration/copy/helpers.js';
import { env, startRun } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-resume-schema-e2e-'));
const TABLES = ['public.parent', 'public.child', 'public.later'];

const SCHEMA = `
  CREATE TABLE parent (id int PRIMARY KEY, name text UNIQUE);
  CREATE TABLE child (id int PRIMARY KEY, parent int NOT NULL REFERENCES parent, v text);
  CREATE INDEX child_v ON child (v);
  INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 500) g;
  INSERT INTO child SELECT g, 1 + g % 500, md5(g::text) FROM generate_series(1, 20000) g;
  ANALYZE`;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  for (const db of ['alpha', 'beta']) {
    await source.query(`CREATE DATABASE ${db}`);
    await source.query(SCHEMA, [], db);
  }
  await target.query('CREATE DATABASE home');
  await source.query(
    `CREATE TABLE later (id int PRIMARY KEY, v text); INSERT INTO later VALUES (1, 'x')`,
    [],
    'alpha',
  );
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

function taskFile(name = 'two', targetDb = 'home', databases = '[alpha, beta]'): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `name: ${name}
mode: full
source:
  url: ${source.url('alpha')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${target.url(targetDb)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
objects:
  databases: ${databases}
options:
  parallel: 2
`,
  );
  return f;
}

describe("a run killed between a database's schema COMMIT and its _dts record resumes", () => {
  it('kill -9 right after pre-data of the first database; run again: not applied twice, every table equal', async () => {
    const file = taskFile();
    // Test-only knob (src/copy/full-load.ts): SIGKILL right after alpha's pre-data COMMIT, before `_dts`.
    const killed = startRun([file], { ...env, DTS_TEST_KILL_AFTER_PRE_DATA: 'alpha' });
    const ended = await killed.exited;
    expect(ended.signal).toBe('SIGKILL');
    // alpha has its tables (committed), beta none; `_dts` of the task says nothing yet.
    const tables = await target.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`,
      [],
      'alpha',
    );
    expect(tables.rows[0]!.n).toBe(3);
    expect((await target.query(`SELECT to_regclass('_dts.tasks') AS t`, [], 'home')).rows).toEqual([
      { t: null },
    ]);
    const marks = await target.query(
      `SELECT task, source_database, phase FROM _dts.schema_phases`,
      [],
      'alpha',
    );
    expect(marks.rows).toEqual([{ task: 'two', source_database: 'alpha', phase: 'pre-data' }]);

    const again = await runDts(['run', file], { env });
    expect(again.stderr).not.toMatch(/^error:/m);
    expect(again.stderr).not.toContain('already exists');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(
      'the schema (pre-data) of alpha was created by an earlier run; not creating it again',
    );
    for (const db of ['alpha', 'beta']) {
      expect(await schemaFingerprint(target, db), db).toEqual(await schemaFingerprint(source, db));
      for (const t of TABLES.filter((t) => db === 'alpha' || t !== 'public.later'))
        expect(`${db} ${t} ${await digest(target, db, t)}`).toBe(`${db} ${t} ${await digest(source, db, t)}`);
    }
    const recorded = await target.query(
      `SELECT source_database, pre_data_at IS NOT NULL AS pre, post_data_at IS NOT NULL AS post
       FROM _dts.databases ORDER BY 1`,
      [],
      'home',
    );
    expect(recorded.rows).toEqual([
      { source_database: 'alpha', pre: true, post: true },
      { source_database: 'beta', pre: true, post: true },
    ]);
  });
});

describe('a run killed after some tables have their keys and indexes resumes without building them twice', () => {
  it("kill -9 after the first table's keys and indexes; run again: those are found built, the rest built, schema equal", async () => {
    await target.query('CREATE DATABASE solo');
    const file = taskFile('solo', 'solo', '[alpha]');
    // Test-only knob (src/copy/load-database.ts): each COPY unit starts 1.5 s late, so the third table
    // is still waiting when the first two have their keys and indexes.
    const run = startRun(['--json', file], { ...env, DTS_TEST_COPY_DELAY_MS: '1500' });
    try {
      while (!run.stderr().includes('"type":"table-post-data"')) {
        if (run.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      run.child.kill('SIGKILL');
      const ended = await run.exited;
      expect(ended.signal).toBe('SIGKILL');
    } finally {
      run.child.kill('SIGKILL');
    }
    const built = await target.query(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'public'`,
      [],
      'solo',
    );
    expect(built.rows[0]!.n).toBeGreaterThan(0);

    const again = await runDts(['run', '--json', file], { env });
    expect(again.stderr).not.toContain('already exists');
    expect(again.code).toBe(0);
    const events = again.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; already?: number; built?: number });
    const tables = events.filter((e) => e.type === 'table-post-data');
    expect(tables).toHaveLength(3);
    expect(tables.some((e) => e.already! > 0)).toBe(true);
    expect(await schemaFingerprint(target, 'solo')).toEqual(await schemaFingerprint(source, 'alpha'));
    for (const t of TABLES)
      expect(`${t} ${await digest(target, 'solo', t)}`).toBe(`${t} ${await digest(source, 'alpha', t)}`);
  });
});
