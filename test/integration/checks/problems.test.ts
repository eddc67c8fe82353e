import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicationNames } from '../../../src/catalog/names.js';
import { validate } from '../../../src/checks/validate.js';
import { Secret } from '../../../src/task/secret.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { expectFinding, findings, severityOf, testTask } from './helpers.js';

/**
 * One source (14) and one target (17) carrying every object-level problem, in separate databases so
 * each test reads only what it provokes: `objects` (table-level trouble), `deps` (a partial selection),
 * `latin` (an encoding clash), `weak` (a role without privileges).
 */
let source: TestServer;
let target: TestServer;
let holder: pg.Client;

const WEAK_PASSWORD = 'weak-Role-pw-31';

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  [source, target] = await Promise.all([
    startServer({ version: 14, settings: { max_prepared_transactions: '5' } }),
    startServer({ version: 17 }),
  ]);
  for (const db of ['objects', 'deps', 'latin', 'weak']) await source.query(`CREATE DATABASE ${db}`);
  await source.query(
    `CREATE TABLE public.keyed (id int PRIMARY KEY, v text);
     CREATE TABLE public.nokey (a int NOT NULL, b text);
     CREATE UNIQUE INDEX nokey_a ON public.nokey (a);
     CREATE UNLOGGED TABLE public.scratch (id int PRIMARY KEY);
     CREATE TABLE public.ruled (id int PRIMARY KEY);
     CREATE RULE no_delete AS ON DELETE TO public.ruled DO INSTEAD NOTHING;
     CREATE TABLE public.gen (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);
     CREATE TABLE public.wide (id int, v text);
     ALTER TABLE public.wide REPLICA IDENTITY FULL;
     INSERT INTO public.wide SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;
     CREATE TABLE public."Mixed" (id int PRIMARY KEY);
     CREATE TABLE public.mixed (id int PRIMARY KEY);
     CREATE MATERIALIZED VIEW public.keyed_count AS SELECT count(*) FROM public.keyed;
     CREATE EXTENSION postgres_fdw;
     CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw;
     CREATE FOREIGN TABLE public.remote (id int) SERVER elsewhere;
     CREATE FUNCTION public.digest_c(text, text) RETURNS bytea AS '$libdir/pgcrypto', 'pg_digest' LANGUAGE c STRICT;
     CREATE EXTENSION adminpack;
     CREATE EXTENSION pg_stat_statements;
     SELECT lo_from_bytea(0, 'blob');
     CREATE FUNCTION public.same_name() RETURNS int LANGUAGE sql AS 'SELECT 1';`,
    [],
    'objects',
  );
  await source.query(
    `CREATE TABLE public.customers (id int PRIMARY KEY);
     CREATE TABLE public.orders (id int PRIMARY KEY, customer int REFERENCES public.customers);
     CREATE VIEW public.order_view AS SELECT o.id FROM public.orders o JOIN public.customers c ON c.id = o.customer;
     CREATE TABLE public.measures (at date NOT NULL, v int) PARTITION BY RANGE (at);
     CREATE TABLE public.measures_2024 PARTITION OF public.measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`,
    [],
    'deps',
  );
  await source.query('CREATE TABLE public.t (id int PRIMARY KEY)', [], 'latin');
  await source.query(
    `CREATE TABLE public.secret (id int PRIMARY KEY);
     CREATE ROLE weak LOGIN PASSWORD '${WEAK_PASSWORD}';
     ALTER ROLE weak SET statement_timeout = '30s';`,
    [],
    'weak',
  );
  // Target: a conflicting table and function in `objects` (with its own TimeZone), a LATIN1 `latin`, and
  // a role without CREATEDB.
  await target.query(`CREATE DATABASE objects`);
  await target.query(`ALTER DATABASE objects SET TimeZone = 'Asia/Tokyo'`);
  await target.query(
    `CREATE TABLE public.keyed (x int); CREATE FUNCTION public.same_name() RETURNS int LANGUAGE sql AS 'SELECT 2'`,
    [],
    'objects',
  );
  await target.query(
    `CREATE DATABASE latin ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`,
  );
  await target.query(`CREATE ROLE weak LOGIN PASSWORD '${WEAK_PASSWORD}'`);

  // A slot under the name dts would use for `objects`, left inactive; a prepared transaction; an open one.
  const names = replicationNames(objectsTask(), 'objects');
  await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot], 'objects');
  await source.query(`CREATE PUBLICATION ${names.publication}`, [], 'objects');
  await source.query(
    `BEGIN; CREATE TABLE public.pending (id int); PREPARE TRANSACTION 'dts-test-gid'`,
    [],
    'weak',
  );
  holder = new pg.Client({
    host: source.host,
    port: source.port,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    database: 'deps',
  });
  await holder.connect();
  await holder.query('BEGIN; SELECT txid_current()');
});

afterAll(async () => {
  await holder?.end().catch(() => undefined);
  await source?.query(`ROLLBACK PREPARED 'dts-test-gid'`, [], 'weak').catch(() => undefined);
  await Promise.all([source?.stop(), target?.stop()]);
});

function objectsTask(mode: 'full+incremental' | 'full' | 'structure' = 'full+incremental') {
  return testTask({ source, target, sourceDb: 'objects', mode });
}

describe('validate: object-level problems on real servers (14 -> 17)', () => {
  let report: Awaited<ReturnType<typeof validate>>;
  beforeAll(async () => {
    report = await validate(objectsTask(), {
      limits: { bigTableBytes: 100 * 1024, longTransactionSeconds: 0 },
    });
  });

  it('fails a table without a key in full+incremental, offering the unique index', () => {
    const f = expectFinding(
      report,
      'objects.replica_identity',
      'fail',
      'no primary key and replica identity DEFAULT',
      'objects.public.nokey',
    );
    expect(f.message).toBe(
      'no primary key and replica identity DEFAULT: UPDATE/DELETE on the live source would start failing once the table is in the publication',
    );
    expect(f.fix).toBe(
      'ALTER TABLE public.nokey REPLICA IDENTITY FULL, or ALTER TABLE public.nokey REPLICA IDENTITY USING INDEX nokey_a, or exclude the table from the task',
    );
    // Only the plain table without a key: `wide` has REPLICA IDENTITY FULL.
    expect(findings(report, 'objects.replica_identity')).toHaveLength(1);
    expect(report.ok).toBe(false);
  });

  it('warns REPLICA IDENTITY FULL on a big table', () => {
    expectFinding(
      report,
      'objects.replica_identity_full',
      'warn',
      'REPLICA IDENTITY FULL on a',
      'objects.public.wide',
    );
  });

  it('fails an unlogged table, warns rules, large objects, foreign tables, C functions, case-only names', () => {
    expectFinding(
      report,
      'objects.unlogged',
      'fail',
      'copied once and changes are not replicated',
      'objects.public.scratch',
    );
    expectFinding(report, 'objects.rules', 'warn', 'has 1 rule (no_delete)', 'objects.public.ruled');
    expectFinding(
      report,
      'objects.large_objects',
      'warn',
      '1 large object: copied in the full phase, later changes are not replicated',
      'objects',
    );
    expectFinding(report, 'objects.foreign_tables', 'warn', 'foreign table', 'objects.public.remote');
    expectFinding(
      report,
      'objects.c_functions',
      'warn',
      'C-language function public.digest_c(text, text)',
      'objects',
    );
    expectFinding(
      report,
      'objects.case_names',
      'warn',
      'public."Mixed", public.mixed differ only by case',
      'objects',
    );
    expectFinding(
      report,
      'objects.generated_columns',
      'info',
      'generated column b: not copied',
      'objects.public.gen',
    );
    expectFinding(
      report,
      'objects.materialized_views',
      'info',
      'refreshed on the target',
      'objects.public.keyed_count',
    );
  });

  it('fails an extension the target lacks and warns a version difference', () => {
    // adminpack ships with 14 but was removed in 17; pg_stat_statements is 1.9 on 14, newer on 17.
    expectFinding(
      report,
      'compat.extensions',
      'fail',
      'extension adminpack 2.1 is not available on the target',
      'objects',
    );
    expectFinding(
      report,
      'compat.extensions',
      'warn',
      'extension pg_stat_statements is 1.9 on the source and 1.11 on the target',
      'objects',
    );
  });

  it('fails a table that exists on the target and warns a same-named function', () => {
    const f = expectFinding(
      report,
      'target.existing_objects',
      'fail',
      'a table with this name already exists',
      'objects.public.keyed',
    );
    expect(f.fix).toBe('drop or rename it on the target, or exclude public.keyed from the task');
    expectFinding(
      report,
      'target.existing_objects',
      'warn',
      'function public.same_name() already exists',
      'objects',
    );
  });

  it('fails the slot and publication names dts would use, and warns the inactive slot', () => {
    const { slot } = replicationNames(objectsTask(), 'objects');
    expect(slot).toBe('dts_checks_test_objects_' + slot.slice(-8));
    expectFinding(
      report,
      'source.replication_names',
      'fail',
      `replication slot ${slot} already exists`,
      'objects',
    );
    expectFinding(
      report,
      'source.replication_names',
      'fail',
      `publication ${slot} already exists`,
      'objects',
    );
    expectFinding(report, 'source.inactive_slots', 'warn', `inactive logical slot ${slot} keeps`, 'source');
  });

  it('warns open and prepared transactions', () => {
    expectFinding(
      report,
      'source.long_transactions',
      'warn',
      '(database deps, user postgres, idle in transaction)',
      'source',
    );
    const p = expectFinding(
      report,
      'source.prepared_transactions',
      'warn',
      "prepared transaction 'dts-test-gid' (database weak, owner postgres)",
      'source',
    );
    expect(p.fix).toBe("COMMIT PREPARED 'dts-test-gid' or ROLLBACK PREPARED 'dts-test-gid' in database weak");
  });

  it('warns a behaviour setting that differs', () => {
    // The source keeps the server default; the target database was given Asia/Tokyo.
    const f = expectFinding(
      report,
      'compat.settings',
      'warn',
      "on the source and 'Asia/Tokyo' on the target",
      'target',
    );
    expect(f.message).toMatch(/^TimeZone is '[^']+' on the source/);
  });

  it('in full mode the same problems are milder; structure leaves out data checks', async () => {
    const full = await validate(objectsTask('full'));
    expectFinding(
      full,
      'objects.replica_identity',
      'info',
      'fine for a one-time copy',
      'objects.public.nokey',
    );
    expectFinding(full, 'objects.unlogged', 'warn', 'unlogged table', 'objects.public.scratch');
    expect(full.results.some((r) => r.id === 'source.privilege.publication')).toBe(false);
    const structure = await validate(objectsTask('structure'));
    expect(structure.results.map((r) => r.id)).not.toContain('source.wal_level');
    expect(structure.results.map((r) => r.id)).not.toContain('source.replication_connection');
  });
});

describe('validate: the selection (14 -> 17)', () => {
  it('fails an FK to an excluded table, warns views and partitions cut apart, fails unknown names', async () => {
    const report = await validate(
      testTask({
        source,
        target,
        sourceDb: 'deps',
        objects: {
          databases: [
            {
              name: 'deps',
              include: [],
              exclude: ['public.customers', 'public.measures_2024', 'public.nothing_*'],
            },
            { name: 'nosuchdb', include: [], exclude: [] },
          ],
        },
      }),
    );
    const fk = expectFinding(
      report,
      'selection.foreign_keys',
      'fail',
      'references public.customers, which is not selected',
      'deps.public.orders',
    );
    expect(fk.message).toBe(
      'foreign key orders_customer_fkey references public.customers, which is not selected: creating the key on the target fails',
    );
    expectFinding(
      report,
      'selection.views',
      'warn',
      'view reads public.customers, which is not selected',
      'deps.public.order_view',
    );
    expectFinding(
      report,
      'selection.inheritance',
      'warn',
      'partition public.measures_2024 is not selected',
      'deps.public.measures',
    );
    expectFinding(
      report,
      'selection.unknown',
      'fail',
      'unknown database in the selection: nosuchdb',
      'nosuchdb',
    );
    expectFinding(
      report,
      'selection.unknown',
      'fail',
      'unknown table in the selection: exclude pattern "public.nothing_*" matches nothing in database deps',
      'deps',
    );
  });

  it('fails an encoding mismatch with an existing target database', async () => {
    const report = await validate(testTask({ source, target, sourceDb: 'latin', mode: 'structure' }));
    expectFinding(
      report,
      'compat.encoding',
      'fail',
      'encoding UTF8 on the source, LATIN1 in the existing target database',
      'latin',
    );
  });
});

describe('validate: connections and privileges', () => {
  it('a role without privileges: replication, SELECT, publication and CREATEDB fail; timeouts and session_replication_role warn', async () => {
    const weak = { user: 'weak', password: { kind: 'inline' as const, value: new Secret(WEAK_PASSWORD) } };
    const report = await validate(
      testTask({ source, target, sourceDb: 'weak', sourceOverrides: weak, targetOverrides: weak }),
    );
    expectFinding(report, 'source.privilege.replication', 'fail', 'role weak cannot replicate', 'source');
    expectFinding(
      report,
      'source.replication_connection',
      'fail',
      'must be superuser or replication role',
      'source',
    );
    const read = expectFinding(
      report,
      'source.privilege.read',
      'fail',
      'no SELECT privilege on table secret',
      'weak.public',
    );
    expect(read.fix).toBe(
      'GRANT SELECT ON ALL TABLES IN SCHEMA public TO weak; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO weak',
    );
    expectFinding(report, 'source.privilege.publication', 'fail', 'weak does not own public.secret', 'weak');
    expectFinding(
      report,
      'target.privilege.create',
      'fail',
      'the database does not exist on the target and weak may not create databases',
      'weak',
    );
    expectFinding(
      report,
      'target.session_replication_role',
      'warn',
      'cannot set session_replication_role = replica',
      'target',
    );
    expectFinding(report, 'session.timeouts', 'warn', 'statement_timeout is 30000 ms for weak', 'source');
    expect(JSON.stringify(report)).not.toContain(WEAK_PASSWORD);
  });

  it('a wrong password and a closed port are FAIL findings; dependent checks did not run', async () => {
    const report = await validate(
      testTask({
        source,
        target,
        sourceDb: 'objects',
        sourceOverrides: { password: { kind: 'inline', value: new Secret('not-the-pw-77') } },
        targetOverrides: { port: 1 },
      }),
    );
    const s = expectFinding(
      report,
      'source.connect',
      'fail',
      'password authentication failed for user "postgres"',
      'source',
    );
    expect(s.message).toBe(`password authentication failed for user "postgres" at 127.0.0.1:${source.port}`);
    expectFinding(report, 'target.connect', 'fail', 'connection refused at 127.0.0.1:1', 'target');
    expect(findings(report, 'source.wal_level')).toEqual([
      { check: 'source.wal_level', severity: 'error', message: 'not run: cannot connect to the source' },
    ]);
    expect(severityOf(report, 'target.roles')).toBe('error');
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).not.toContain('not-the-pw-77');
    // Source-dependent checks are never shown as a pass when the source could not be reached.
    expect(severityOf(report, 'source.version')).toBe('error');
  });

  it('a missing password variable is a FAIL finding, not a throw', async () => {
    const report = await validate(
      testTask({
        source,
        target,
        sourceDb: 'objects',
        sourceOverrides: { password: { kind: 'env', variable: 'DTS_NO_SUCH_VAR' } },
      }),
    );
    expectFinding(
      report,
      'source.connect',
      'fail',
      'the environment variable DTS_NO_SUCH_VAR is not set',
      'source',
    );
  });
});
