import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtsError } from '../../../src/errors.js';
import { migrateSchema, planSchema } from '../../../src/schema/index.js';
import type { Options, Task } from '../../../src/task/types.js';
import { endpointFor, TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type PgVersion, type TestServer } from '../../harness/pg-server.js';
import { countByKind, schemaFingerprint } from '../../harness/schema-fingerprint.js';

const ROLES = ['dts_fixture_owner', 'dts_fixture_reader'];
const SCHEMA_SQL = readFileSync(new URL('../../../fixtures/source-schema.sql', import.meta.url), 'utf8');
const DATA_SQL = readFileSync(new URL('../../../fixtures/source-data.sql', import.meta.url), 'utf8');

/** What the fixture holds, per kind: the comparison below must never pass by reading nothing. */
const FIXTURE_KINDS = [
  'schemas',
  'extensions',
  'collations',
  'enums',
  'domains',
  'composite types',
  'range types',
  'multiranges',
  'sequences',
  'tables',
  'partitioned tables',
  'views',
  'materialized views',
  'primary keys',
  'unique constraints',
  'check constraints',
  'exclusion constraints',
  'foreign keys',
  'constraint triggers',
  'indexes',
  'functions',
  'procedures',
  'aggregates',
  'triggers',
  'rules',
  'policies',
  'statistics',
  'default_privileges',
  'comments',
  'objects with ACLs',
];

let source: TestServer;
const targets = new Map<PgVersion, TestServer>();
let extra14: TestServer;

function task(
  target: TestServer,
  database: string,
  options: Partial<Options> = {},
  include: string[] = [],
): Task {
  return {
    name: 'fixture',
    file: '/nowhere/fixture.yaml',
    schedule: undefined,
    mode: 'structure',
    source: endpointFor(source, { database: 'fixture' }),
    target: endpointFor(target, { database }),
    objects: { databases: [{ name: 'fixture', include, exclude: [] }], include: [], exclude: [] },
    options: {
      parallel: 1,
      namePrefix: 'dts',
      splitTableBytes: 1 << 30,
      missingRoles: 'error',
      roleMap: {},
      ...options,
    },
  };
}

async function freshDatabase(server: TestServer, name: string): Promise<void> {
  await server.query(`DROP DATABASE IF EXISTS "${name}"`);
  await server.query(`CREATE DATABASE "${name}"`);
}

async function createRoles(server: TestServer, names: readonly string[]): Promise<void> {
  for (const r of names) await server.query(`CREATE ROLE "${r}" NOLOGIN`);
}

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  const started = await Promise.all([
    startServer({ version: 14 }),
    startServer({ version: 17 }),
    startServer({ version: 18 }),
    startServer({ version: 14 }),
  ]);
  [source, , , extra14] = started;
  targets.set(17, started[1]!);
  targets.set(18, started[2]!);
  await source.query('CREATE DATABASE fixture');
  await source.query(SCHEMA_SQL, [], 'fixture');
  await source.query(DATA_SQL, [], 'fixture');
  for (const t of [...targets.values(), extra14]) await createRoles(t, ROLES);
});

afterAll(async () => {
  await Promise.all([source, extra14, ...targets.values()].filter(Boolean).map((s) => s.stop()));
});

describe('schema migration of the fixture (every common object kind, odd names)', () => {
  it.each([17, 18] as const)(
    'PostgreSQL 14 -> %i: the target schema equals the source schema',
    async (version) => {
      const target = targets.get(version)!;
      await freshDatabase(target, 'fixture');
      const report = await migrateSchema(task(target, 'fixture'));
      const db = report.databases[0]!;
      expect(db.failed).toEqual([]);
      expect(db.notAttempted).toEqual([]);
      expect(report.ok).toBe(true);
      expect(db.committed).toBe(true);

      const before = await schemaFingerprint(source, 'fixture');
      const after = await schemaFingerprint(target, 'fixture');
      const counts = countByKind(before);
      for (const kind of FIXTURE_KINDS) expect(counts[kind], kind).toBeGreaterThan(0);
      expect(countByKind(after)).toEqual(counts);
      expect(after).toEqual(before);
    },
  );

  it('PostgreSQL 14 -> 14: pg_dump --schema-only prints the same on both sides', async () => {
    await freshDatabase(extra14, 'fixture');
    const report = await migrateSchema(task(extra14, 'fixture'));
    expect(report.databases[0]!.failed).toEqual([]);
    expect(await schemaFingerprint(extra14, 'fixture')).toEqual(await schemaFingerprint(source, 'fixture'));
    if (!existsSync('/usr/bin/pg_dump')) return;
    const dump = async (s: TestServer) =>
      (
        await promisify(execFile)(
          '/usr/bin/pg_dump',
          ['--schema-only', '-h', s.host, '-p', String(s.port), '-U', 'postgres', 'fixture'],
          { env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD }, maxBuffer: 64 << 20 },
        )
      ).stdout.replace(/^\\(un)?restrict .*$/gm, '');
    expect(await dump(extra14)).toEqual(await dump(source));
  });

  it('brings what the selected tables need, skips foreign keys to tables left out, creates nothing else', async () => {
    const target = targets.get(17)!;
    await freshDatabase(target, 'partial');
    const report = await migrateSchema(task(target, 'partial', {}, ['Sales Ünïcode.orders']));
    const db = report.databases[0]!;
    expect(db.failed).toEqual([]);
    const relations = await target.query(
      `SELECT n.nspname || '.' || c.relname AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ('app', 'Sales Ünïcode') AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY 1`,
      [],
      'partial',
    );
    expect(relations.rows.map((r) => r.r)).toEqual(['Sales Ünïcode.orders', 'Sales Ünïcode.orders_id_seq']);
    const created = db.created.map((o) => `${o.kind} ${o.name}`);
    expect(created).toEqual(
      expect.arrayContaining([
        'schema app',
        'schema "Sales Ünïcode"',
        'type app.order_status',
        'domain app.positive_money',
        'function app.next_order_code()',
        'function app.touch_updated_at()',
        'function audit.record_change()',
        'table "Sales Ünïcode".orders',
        'policy orders_owner_all on "Sales Ünïcode".orders',
      ]),
    );
    expect(db.created.filter((o) => o.kind === 'table').map((o) => o.name)).toEqual([
      '"Sales Ünïcode".orders',
    ]);
    expect(db.skipped).toContainEqual({
      kind: 'foreign key',
      name: 'orders_customer_id_fkey on "Sales Ünïcode".orders',
      reason: 'it references app.customers that is not selected',
    });
  });

  it('when an object fails, names it with the server message, rolls back, and leaves the target as it was', async () => {
    const target = targets.get(17)!;
    await freshDatabase(target, 'clash');
    await target.query('CREATE SCHEMA app; CREATE TABLE app.lookup (x int)', [], 'clash');
    const report = await migrateSchema(task(target, 'clash'));
    const db = report.databases[0]!;
    expect(report.ok).toBe(false);
    expect(db.committed).toBe(false);
    expect(db.failed).toEqual([
      expect.objectContaining({
        kind: 'table',
        name: 'app.lookup',
        message: 'relation "lookup" already exists',
        sqlstate: '42P07',
      }),
    ]);
    expect(db.notAttempted.length).toBeGreaterThan(0);
    expect(db.notAttempted.every((o) => o.reason === 'needs table app.lookup, which failed')).toBe(true);
    expect(db.rolledBack.length).toBeGreaterThan(100);
    const left = await target.query(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`,
      [],
      'clash',
    );
    expect(left.rows[0]?.n).toBe(1);
  });

  it('missing roles: error names them before creating anything; skip leaves ownership and grants out', async () => {
    const target = extra14;
    await target.query('DROP DATABASE IF EXISTS fixture');
    await freshDatabase(target, 'noroles');
    await target.query('DROP ROLE IF EXISTS renamed_owner');
    for (const r of ROLES) await target.query(`DROP ROLE IF EXISTS "${r}"`);
    try {
      const failure = await migrateSchema(task(target, 'noroles')).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DtsError);
      expect((failure as DtsError).details).toEqual(['missing: dts_fixture_owner, dts_fixture_reader']);
      const tables = await target.query(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'app'`,
        [],
        'noroles',
      );
      expect(tables.rows[0]?.n).toBe(0);

      await target.query('CREATE ROLE renamed_owner NOLOGIN');
      const report = await migrateSchema(
        task(target, 'noroles', { missingRoles: 'skip', roleMap: { dts_fixture_owner: 'renamed_owner' } }),
      );
      const db = report.databases[0]!;
      expect(db.failed).toEqual([]);
      expect(db.skipped.filter((s) => s.kind === 'role').map((s) => s.name)).toEqual(['dts_fixture_reader']);
      const owner = await target.query(
        `SELECT tableowner FROM pg_tables WHERE schemaname = 'Sales Ünïcode' AND tablename = 'ÜberTable'`,
        [],
        'noroles',
      );
      expect(owner.rows[0]?.tableowner).toBe('renamed_owner');
      const readerPolicies = await target.query(
        `SELECT count(*)::int AS n FROM pg_policies WHERE 'dts_fixture_reader' = ANY (roles)`,
        [],
        'noroles',
      );
      expect(readerPolicies.rows[0]?.n).toBe(0);
    } finally {
      await target.query('DROP DATABASE IF EXISTS noroles');
      await target.query('DROP ROLE IF EXISTS renamed_owner');
      for (const r of ROLES) await target.query(`DROP ROLE IF EXISTS "${r}"`);
      await createRoles(target, ROLES);
    }
  });

  it('plans without contacting the target (dry run) and lists the roles the schema refers to', async () => {
    const unreachable = { ...endpointFor(source), port: 1 };
    const plan = await planSchema({ ...task(source, 'fixture'), target: unreachable }, { readTarget: false });
    expect(plan.roles).toEqual(['dts_fixture_owner', 'dts_fixture_reader', 'postgres']);
    const statements = plan.databases[0]!.objects.flatMap((o) => o.statements);
    expect(statements).toContain('CREATE SCHEMA IF NOT EXISTS "Sales Ünïcode"');
    expect(statements).toContain(
      'ALTER INDEX "app"."measurements_pkey" ATTACH PARTITION "archive"."measurements_2023_pkey"',
    );
  });
});
