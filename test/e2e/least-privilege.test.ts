import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { tableRows } from '../harness/compare.js';
import { openSession, startServer, type TestServer } from '../harness/pg-server.js';
import { startRun } from '../integration/state/helpers.js';

/*
 * The whole flow as roles with the least privilege dts needs (README "Privileges"):
 * - source: LOGIN REPLICATION, CREATE on the database (CREATE PUBLICATION needs it) and membership in the
 *   tables' owner role (only a table's owner may add it to a publication); nothing else.
 * - target: LOGIN, owner of the (existing) target database, member of the owner role it reproduces; not a
 *   superuser, so it may not set session_replication_role and the target's triggers fire during apply.
 */

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-privileges-e2e-'));
const SOURCE_PASSWORD = 'src-Least-4b1d';
const TARGET_PASSWORD = 'tgt-Least-9c2e';
const env = { DTS_SOURCE_PASSWORD: SOURCE_PASSWORD, DTS_TARGET_PASSWORD: TARGET_PASSWORD };

/**
 * A task as the two least-privileged roles. `mapped` maps the source role's own grants, and the owner of
 * the public schema (the bootstrap superuser on 14), to the target role.
 */
function taskFile(database: string, mapped: boolean): string {
  const f = join(dir, `${database}${mapped ? '-mapped' : ''}.yaml`);
  const url = (s: TestServer, user: string) => `postgresql://${user}@${s.host}:${s.port}/${database}`;
  writeFileSync(
    f,
    `name: ${database}
mode: full+incremental
source:
  url: ${url(source, 'dts_src')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${url(target, 'dts_tgt')}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
options:
  parallel: 2
${mapped ? '  roleMap:\n    dts_src: dts_tgt\n    postgres: dts_tgt\n' : ''}`,
  );
  return f;
}

/**
 * The application's schema, owned by app_owner: a foreign key, a sequence, a view granted to another
 * role; `shop` adds a trigger that writes and a large object.
 */
function appSchema(withTriggers: boolean): string {
  return `
CREATE SCHEMA app AUTHORIZATION app_owner;
SET ROLE app_owner;
CREATE TABLE app.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE app.orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES app.customers, total numeric NOT NULL);
CREATE TABLE app.order_totals (customer_id int PRIMARY KEY REFERENCES app.customers, n int NOT NULL, total numeric NOT NULL);
CREATE TABLE app.notes (id bigserial PRIMARY KEY, doc oid, note text);
CREATE VIEW app.big_orders AS SELECT * FROM app.orders WHERE total > 100;
GRANT SELECT ON app.big_orders TO app_reader;
INSERT INTO app.customers SELECT g, 'c' || g FROM generate_series(1, 50) g;
${
  withTriggers
    ? `CREATE FUNCTION app.count_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO app.order_totals AS t VALUES (NEW.customer_id, 1, NEW.total)
  ON CONFLICT (customer_id) DO UPDATE SET n = t.n + 1, total = t.total + excluded.total;
  RETURN NEW;
END $$;
CREATE TRIGGER orders_count AFTER INSERT ON app.orders FOR EACH ROW EXECUTE FUNCTION app.count_order();
CREATE TABLE app.order_lines (order_id int NOT NULL REFERENCES app.orders ON DELETE CASCADE, line int NOT NULL, PRIMARY KEY (order_id, line));
INSERT INTO app.notes (doc, note) VALUES (lo_from_bytea(0, '\\x00ff10'::bytea), 'a document');`
    : ''
}
INSERT INTO app.orders SELECT g, g % 50 + 1, g FROM generate_series(1, 500) g;
${withTriggers ? 'INSERT INTO app.order_lines SELECT g, l FROM generate_series(1, 500) g, generate_series(1, 3) l;' : ''}
RESET ROLE;
GRANT USAGE ON SCHEMA app TO dts_src;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO dts_src;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA app TO dts_src;
${withTriggers ? `DO $$ BEGIN EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO dts_src', (SELECT doc FROM app.notes WHERE doc IS NOT NULL)); END $$;` : ''}
`;
}

/** Small transactions as the application: new customers and orders, updates, deletes, trigger writes. */
async function writes(database: string, from: number, count: number): Promise<void> {
  const session = await openSession(source, database);
  try {
    for (let i = from; i < from + count; i++)
      await session.query(
        `BEGIN;
       SET LOCAL ROLE app_owner;
       INSERT INTO app.customers VALUES (${1000 + i}, 'n${i}');
       INSERT INTO app.orders VALUES (${10_000 + i}, ${1000 + i}, ${i});
       INSERT INTO app.orders VALUES (${20_000 + i}, ${(i % 50) + 1}, ${i});
       UPDATE app.customers SET name = name || '+' WHERE id = ${(i % 50) + 1};
       DELETE FROM app.orders WHERE id = ${(i % 500) + 1};
       INSERT INTO app.notes (note) VALUES ('w${i}');
       COMMIT`,
      );
  } finally {
    await session.end();
  }
}

/** `dts status --json` as the task's roles, until the runner is syncing (the shared helper uses the superuser). */
async function untilSyncing(file: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const r = await runDts(['status', file, '--json'], { env });
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as { condition: string; phase: string };
      if (s.condition === 'running' && s.phase === 'syncing') return;
    }
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error('the run never reached syncing');
}

const column = async (s: TestServer, database: string, sql: string) =>
  (await s.query<{ x: string }>(sql, [], database)).rows.map((r) => r.x);

const TABLES = ['app.customers', 'app.orders', 'app.order_totals', 'app.notes'];
const TABLES_OF: Record<string, string[]> = { plain: TABLES, shop: [...TABLES, 'app.order_lines'] };

/** run, writes during sync, complete, verify: the target equals the source; _dts is dts_tgt's alone. */
async function migrate(database: string, file: string): Promise<string> {
  const run = startRun([file], env);
  let stderr = '';
  try {
    await Promise.race([
      untilSyncing(file),
      run.exited.then((e) => {
        throw new Error(`the run ended: ${e.code}\n${e.stderr}\n${e.stdout}`);
      }),
    ]);
    await writes(database, 0, 40);
    const c = await runDts(['complete', file], { env });
    expect(c.stderr).not.toMatch(/^error:/m);
    expect(c.code).toBe(0);
    const ended = await run.exited;
    expect(ended.stderr).not.toMatch(/^error:/m);
    expect(ended.code).toBe(0);
    stderr = ended.stderr;
  } catch (e) {
    throw new Error(`${String(e)}\nthe run printed:\n${run.stderr()}`);
  } finally {
    run.child.kill('SIGKILL');
  }
  for (const t of TABLES_OF[database]!)
    expect(await tableRows(target, database, t), t).toEqual(await tableRows(source, database, t));
  const v = await runDts(['verify', file], { env });
  expect(v.stdout).not.toContain('DIFFERENT');
  expect(v.code).toBe(0);
  // dts's own apply, as a role that may or may not suspend triggers, is never taken for someone else's write.
  expect(await column(target, database, `SELECT count(*)::text AS x FROM _dts.target_writes`)).toEqual(['0']);
  // The state schema and everything in it belong to the task's target role; PUBLIC has no access.
  expect(
    await column(
      target,
      database,
      `SELECT pg_get_userbyid(relowner) AS x FROM pg_class WHERE relnamespace = '_dts'::regnamespace
       UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = '_dts'`,
    ),
  ).toEqual(['dts_tgt']);
  expect(
    await column(
      target,
      database,
      `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS x
       FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
       WHERE n.nspname = '_dts'`,
    ),
  ).toEqual(['dts_tgt']);
  // Ownership and grants as on the source.
  expect(
    await column(
      target,
      database,
      `SELECT DISTINCT pg_get_userbyid(relowner) AS x FROM pg_class WHERE relnamespace = 'app'::regnamespace`,
    ),
  ).toEqual(['app_owner']);
  expect(
    await column(
      target,
      database,
      `SELECT has_table_privilege('app_reader', 'app.big_orders', 'SELECT')::text AS x`,
    ),
  ).toEqual(['true']);
  return stderr;
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  const roles = `CREATE ROLE app_owner NOLOGIN; CREATE ROLE app_reader NOLOGIN;`;
  await source.query(`${roles} CREATE ROLE dts_src LOGIN REPLICATION PASSWORD '${SOURCE_PASSWORD}'`);
  await target.query(`${roles} CREATE ROLE dts_tgt LOGIN PASSWORD '${TARGET_PASSWORD}'`);
  for (const [database, triggers] of [
    ['plain', false],
    ['shop', true],
  ] as const) {
    await source.query(`CREATE DATABASE ${database}`);
    await source.query(appSchema(triggers), [], database);
    await target.query(`CREATE DATABASE ${database} OWNER dts_tgt`);
    // A default privilege that would open every schema dts_tgt creates to PUBLIC, _dts included.
    await target.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE dts_tgt GRANT USAGE ON SCHEMAS TO PUBLIC`,
      [],
      database,
    );
  }
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('least privilege: non-superuser roles on both sides, 14 -> 17', () => {
  it('validate names each missing privilege with its GRANT; then the whole flow runs without superuser', async () => {
    const r = await runDts(['validate', taskFile('plain', false)], { env });
    const lines = r.stdout.split('\n');
    expect(r.code).toBe(1);
    for (const want of [
      /FAIL +source\.privilege\.publication +plain: no CREATE privilege on the database/,
      /fix: GRANT CREATE ON DATABASE plain TO dts_src/,
      /FAIL +source\.privilege\.publication +plain: dts_src does not own app\.customers/,
      /fix: .*GRANT app_owner TO dts_src/,
      /FAIL +target\.privilege\.owners +target: dts_tgt may not make app_owner the owner of \d+ selected objects/,
      /fix: GRANT app_owner TO dts_tgt on the target/,
      /FAIL +target\.privilege\.owners +target: dts_tgt may not make postgres \(a superuser\) the owner of 1 selected object /,
      /fix: map the owner to dts_tgt: options\.roleMap: \{ postgres: dts_tgt \}/,
      /WARN +target\.roles +target: role dts_src is granted privileges on \d+ selected objects but does not exist on the target/,
      /WARN +target\.session_replication_role +target: cannot set session_replication_role = replica/,
    ])
      expect(
        lines.some((l) => want.test(l)),
        String(want),
      ).toBe(true);

    await source.query(`GRANT CREATE ON DATABASE plain TO dts_src; GRANT app_owner TO dts_src`);
    await target.query(`GRANT app_owner TO dts_tgt`);
    const file = taskFile('plain', true);
    const ok = await runDts(['validate', file], { env });
    expect(ok.stdout).toMatch(/WARN +target\.session_replication_role/);
    expect(ok.code).toBe(0);
    // Without session_replication_role the foreign keys are checked for every replicated row: they hold.
    await migrate('plain', file);
  }, 400_000);

  it('triggers without session_replication_role fail validate; GRANT SET ON PARAMETER is enough', async () => {
    await source.query(`GRANT CREATE ON DATABASE shop TO dts_src`);
    const file = taskFile('shop', true);
    const r = await runDts(['validate', file], { env });
    expect(r.stdout).toMatch(
      /FAIL +target\.session_replication_role +shop: triggers on app\.orders \(orders_count\) would fire again on the target for every replicated row/,
    );
    expect(r.stdout).toMatch(
      /FAIL +target\.session_replication_role +shop: foreign keys with ON DELETE\/UPDATE actions on app\.order_lines \(order_lines_order_id_fkey\) would act again on the target/,
    );
    expect(r.stdout).toContain(
      'fix: GRANT SET ON PARAMETER session_replication_role TO dts_tgt (as a superuser on the target)',
    );
    expect(r.code).toBe(1);
    await target.query(`GRANT SET ON PARAMETER session_replication_role TO dts_tgt`);
    const ok = await runDts(['validate', file], { env });
    expect(ok.stdout).toMatch(/PASS +target\.session_replication_role/);
    expect(ok.code).toBe(0);
    await migrate('shop', file);
    expect(
      await column(target, 'shop', `SELECT pg_get_userbyid(lomowner) AS x FROM pg_largeobject_metadata`),
    ).toEqual(['app_owner']);
  }, 400_000);
});
