import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import pg from 'pg';
import { startServer, startStandby, SUPERUSER_PASSWORD, type TestServer } from '../harness/pg-server.js';
import { env, startRun, statusUntil } from '../integration/state/helpers.js';

/**
 * A source that is a hot standby (PostgreSQL 17 streaming from a 17 primary): validate's findings, a
 * full copy, and full+incremental under writes on the primary through `dts complete`.
 */

let primary: TestServer;
let standby: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-standby-e2e-'));
const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '1000' };

function taskFile(
  name: string,
  mode: 'full' | 'full+incremental',
  targetDb: string,
  withPrimary: boolean,
): string {
  const f = join(dir, `${name}.yaml`);
  const primaryKeys = withPrimary
    ? `  primary:
    url: ${primary.url('shop')}
    password: \${DTS_SOURCE_PASSWORD}
    sslmode: disable
`
    : '';
  writeFileSync(
    f,
    `name: ${name}
mode: ${mode}
source:
  url: ${standby.url('shop')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
${primaryKeys}target:
  url: ${target.url(targetDb)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
options:
  parallel: 2
`,
  );
  return f;
}

/** Small transactions on the primary (one session): inserts, updates and deletes on a keyed and a keyless table. */
async function workload(rounds: number, base: number): Promise<void> {
  const c = new pg.Client({
    host: primary.host,
    port: primary.port,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    database: 'shop',
  });
  await c.connect();
  try {
    for (let i = 0; i < rounds; i++) {
      const k = base + i;
      await c.query(
        `BEGIN;
         INSERT INTO items (v, n) VALUES (md5('${k}'), ${k});
         UPDATE items SET v = v || 'u' WHERE id = ${(k % 1000) + 1};
         DELETE FROM items WHERE id = ${((k * 7) % 1000) + 1};
         INSERT INTO events VALUES (${k}, 'w${k}');
         DELETE FROM events WHERE id = ${((k * 3) % 300) + 1};
         COMMIT`,
      );
    }
  } finally {
    await c.end();
  }
}

/** Wait until the standby has replayed everything the primary wrote so far. */
async function caughtUp(): Promise<void> {
  const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  for (;;) {
    const r = await standby.query<{ done: boolean }>(
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
      [rows[0]!.lsn],
    );
    if (r.rows[0]!.done) return;
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function expectReleased(): Promise<void> {
  expect((await standby.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
  expect(
    (await primary.query(`SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical'`)).rows,
  ).toEqual([]);
  expect((await primary.query(`SELECT pubname FROM pg_publication`, [], 'shop')).rows).toEqual([]);
}

beforeAll(async () => {
  [primary, target] = await Promise.all([startServer({ version: 17 }), startServer({ version: 17 })]);
  await primary.query('CREATE DATABASE shop');
  await primary.query(
    `CREATE TABLE items (id serial PRIMARY KEY, v text, n int);
     INSERT INTO items (v, n) SELECT md5(g::text), g FROM generate_series(1, 1000) g;
     CREATE TABLE events (id int NOT NULL, note text);
     ALTER TABLE events REPLICA IDENTITY FULL;
     INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 300) g`,
    [],
    'shop',
  );
  standby = await startStandby(primary);
  await caughtUp();
});

afterAll(async () => {
  await standby?.stop();
  await Promise.all([primary?.stop(), target?.stop()]);
});

describe('a hot standby as the source', () => {
  it('validate: full+incremental without source.primary fails with a hint; with it, a note', async () => {
    const bare = await runDts(['validate', taskFile('bare', 'full+incremental', 'bare', false)], { env });
    expect(bare.code).toBe(1);
    expect(bare.stdout).toContain(
      'the source is a standby (read-only): the publication for mode full+incremental must be created on its primary',
    );
    expect(bare.stdout).toContain(
      'add source.primary (url or host/port/user of the primary) to the task file; dts creates and drops only the publication there',
    );
    const run = await runDts(['run', '--now', taskFile('bare', 'full+incremental', 'bare', false)], {
      env,
    });
    expect(run.stderr).toContain(
      'bare: not started: validate found problems (fix them, or --no-validate to skip the checks)',
    );
    expect(run.code).toBe(1);

    const ready = await runDts(['validate', taskFile('ready', 'full+incremental', 'ready', true)], {
      env,
    });
    expect(ready.stdout).toContain(
      'the source is a standby: dts makes the slot there and the publication on source.primary; a promotion or failover of the standby loses the slot (run again from scratch)',
    );
    expect(ready.stdout).not.toMatch(/FAIL/);
    expect(ready.code).toBe(0);
  });

  it('mode full from the standby: the copy equals the primary', async () => {
    const file = taskFile('copy', 'full', 'copy', true);
    const r = await runDts(['run', '--now', file], { env });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    await caughtUp();
    const cmp = await compareDatabases(primary, 'shop', target, 'copy');
    expect(cmp.differences).toEqual([]);
    expect(cmp.tables).toEqual(['public.events', 'public.items']);
    await expectReleased();
  });

  it('full+incremental from the standby under writes on the primary, then complete: equal, released', async () => {
    const file = taskFile('live', 'full+incremental', 'live', true);
    const run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 60_000);
      await workload(200, 10_000);
      await new Promise((res) => setTimeout(res, 1500));
      const s = await runDts(['status', file, '--json'], { env });
      expect(s.code).toBe(0);
      await workload(20, 20_000);
      const c = await runDts(['complete', file, '--json'], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      const report = JSON.parse(c.stdout);
      expect(report).toMatchObject({ task: 'live', ok: true, phase: 'completed' });
      expect(report.transactions).toBeGreaterThanOrEqual(220);
      const ended = await run.exited;
      expect(ended.stderr).not.toMatch(/^error:/m);
      expect(ended.code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
    const cmp = await compareDatabases(primary, 'shop', target, 'live');
    expect(cmp.differences).toEqual([]);
    const seq = async (s: TestServer, db: string) =>
      Number(
        (await s.query<{ v: string }>(`SELECT last_value::text AS v FROM items_id_seq`, [], db)).rows[0]!.v,
      );
    expect(await seq(target, 'live')).toBeGreaterThanOrEqual(await seq(primary, 'shop'));
    await expectReleased();
  });
});
