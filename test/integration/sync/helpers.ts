import pg from 'pg';
import { replicationNames } from '../../../src/catalog/names.js';
import { parseLsn, type Lsn } from '../../../src/pg/lsn.js';
import type { Task } from '../../../src/task/types.js';
import { endpointFor, TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { openSession, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';

process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;

/** A task with one database, the same name on both sides. */
export function syncTask(source: TestServer, target: TestServer, database: string): Task {
  return {
    name: 'sync',
    file: '/tmp/sync-test.yaml',
    schedule: undefined,
    mode: 'full+incremental',
    source: endpointFor(source, { database }),
    target: endpointFor(target, { database }),
    objects: { databases: [{ name: database, include: [], exclude: [] }], include: [], exclude: [] },
    options: {
      parallel: 2,
      namePrefix: 'dts',
      splitTableBytes: 1024 ** 3,
      missingRoles: 'error',
      roleMap: {},
    },
  };
}

/** A client with settings that make text forms comparable between servers. */
export async function client(server: TestServer, database: string): Promise<pg.Client> {
  const c = await openSession(server, database);
  await c.query(`SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET DateStyle = 'ISO, YMD'`);
  return c;
}

/**
 * The same database and DDL on both sides, a publication for all tables and the task's slot on the source
 * (what the copy stage will create). Returns the task and the slot's start LSN.
 */
export async function prepare(
  source: TestServer,
  target: TestServer,
  database: string,
  ddl: string,
  opts: { viaRoot?: boolean } = {},
): Promise<{ task: Task; start: Lsn }> {
  for (const s of [source, target]) {
    await s.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await s.query(`CREATE DATABASE ${database}`);
    await s.query(ddl, [], database);
  }
  const task = syncTask(source, target, database);
  const { slot, publication } = replicationNames(task, database);
  await source.query(
    `CREATE PUBLICATION "${publication}" FOR ALL TABLES WITH (publish_via_partition_root = ${opts.viaRoot ? 'true' : 'false'})`,
    [],
    database,
  );
  const { rows } = await source.query(
    `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
    [slot],
    database,
  );
  return { task, start: parseLsn(rows[0]!.lsn as string) };
}

/**
 * Where the source's WAL ends now: the insert position, not pg_current_wal_lsn() (the *write* position,
 * which lags committed transactions under synchronous_commit = off, as on these test servers).
 */
export async function currentLsn(server: TestServer, database = 'postgres'): Promise<Lsn> {
  const { rows } = await server.query(`SELECT pg_current_wal_insert_lsn()::text AS lsn`, [], database);
  return parseLsn(rows[0]!.lsn as string);
}

/** Every row of a table as its text form, sorted, so two servers' tables compare as arrays. */
export async function rowsOf(server: TestServer, database: string, table: string): Promise<string[]> {
  const c = await client(server, database);
  try {
    const { rows } = await c.query(`SELECT t::text AS r FROM ${table} t`);
    return rows.map((r: { r: string }) => r.r).sort();
  } finally {
    await c.end();
  }
}

export async function slotConfirmed(server: TestServer, database: string, slot: string): Promise<Lsn> {
  const { rows } = await server.query(
    `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
    database,
  );
  return parseLsn(rows[0]!.lsn as string);
}

export async function storedPosition(target: TestServer, database: string): Promise<Lsn | undefined> {
  const { rows } = await target.query(`SELECT lsn::text AS lsn FROM _dts.apply_position`, [], database);
  return rows[0] ? parseLsn(rows[0].lsn as string) : undefined;
}

/** Restart a test server in place (same port and data), as an operator's restart or a crash would. */
export function restartServer(server: TestServer, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  return server.restart(mode);
}
