import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { openSession, startServer, type TestServer } from '../harness/pg-server.js';
import { digest } from '../integration/copy/helpers.js';
import { env, startRun, statusUntil, taskFile } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-incremental-e2e-'));
const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '1000' };
const TABLES = ['public.items', 'public.events', 'public.m_low', 'public.m_high'];

/** A full+incremental task file (the state helpers write mode: full). */
function incrementalTask(name: string, sourceDb: string, targetDb: string): string {
  return taskFile(dir, source, target, name, sourceDb, targetDb, 'full+incremental');
}

async function load(database: string): Promise<void> {
  await source.query(`CREATE DATABASE ${database}`);
  await source.query(
    `CREATE TABLE items (id serial PRIMARY KEY, v text, n int);
     INSERT INTO items (v, n) SELECT md5(g::text), g FROM generate_series(1, 2000) g;
     CREATE TABLE events (id int NOT NULL, note text);
     ALTER TABLE events REPLICA IDENTITY FULL;
     INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 500) g;
     CREATE TABLE measures (id int, at int, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
     CREATE TABLE m_low PARTITION OF measures FOR VALUES FROM (0) TO (100);
     CREATE TABLE m_high PARTITION OF measures FOR VALUES FROM (100) TO (200);
     INSERT INTO measures SELECT g, g % 200, g FROM generate_series(1, 1000) g;
     ANALYZE`,
    [],
    database,
  );
}

/** Many small transactions of inserts, updates and deletes, some moving rows between partitions. */
async function workload(database: string, rounds: number, base: number): Promise<void> {
  const session = await openSession(source, database);
  try {
    for (let i = 0; i < rounds; i++) {
      const k = base + i;
      await session.query(
        `BEGIN;
       INSERT INTO items (v, n) VALUES (md5('${k}'), ${k});
       UPDATE items SET v = v || 'u' WHERE id = ${(k % 2000) + 1};
       DELETE FROM items WHERE id = ${((k * 7) % 2000) + 1};
       INSERT INTO events VALUES (${k}, 'w${k}');
       UPDATE events SET note = note || '!' WHERE id = ${(k % 500) + 1};
       DELETE FROM events WHERE id = ${((k * 3) % 500) + 1};
       UPDATE measures SET v = v + 1 WHERE id = ${(k % 1000) + 1};
       UPDATE measures SET at = (at + 100) % 200 WHERE id = ${((k * 11) % 1000) + 1};
       COMMIT`,
      );
    }
  } finally {
    await session.end();
  }
}

async function expectEqual(sourceDb: string, targetDb: string): Promise<void> {
  for (const t of TABLES)
    expect(`${t} ${await digest(target, targetDb, t)}`).toBe(`${t} ${await digest(source, sourceDb, t)}`);
  const seq = async (s: TestServer, db: string) =>
    Number(
      (await s.query<{ v: string }>(`SELECT last_value::text AS v FROM items_id_seq`, [], db)).rows[0]!.v,
    );
  expect(await seq(target, targetDb)).toBeGreaterThanOrEqual(await seq(source, sourceDb));
  expect((await source.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
  expect((await source.query(`SELECT pubname FROM pg_publication`, [], sourceDb)).rows).toEqual([]);
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await load('shop');
  await load('crash');
  await load('stop');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('dts run (full+incremental) and dts complete on the built CLI', () => {
  it('complete of a task that never ran: exit 5', async () => {
    const r = await runDts(['complete', incrementalTask('never', 'shop', 'never_db')], { env });
    expect(r.stderr).toContain(
      'error: task never is not syncing (it has not run on this target); nothing to complete\n',
    );
    expect(r.code).toBe(5);
  });

  it('copies, syncs a concurrent workload, and completes: equal tables, sequence, source released', async () => {
    const file = incrementalTask('shop', 'shop', 'shop');
    const run = startRun([file], runEnv);
    try {
      const s = await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      expect(s.mode).toBe('full+incremental');
      await workload('shop', 150, 10_000);
      // One larger transaction: its inserts travel as COPY, between the batch's other statements.
      await source.query(
        `BEGIN;
         UPDATE items SET n = n + 1 WHERE id <= 300;
         INSERT INTO items (v, n) SELECT md5(g::text), g FROM generate_series(50000, 50499) g;
         DELETE FROM items WHERE id BETWEEN 301 AND 340;
         COMMIT`,
        [],
        'shop',
      );
      // The runner prints a progress line every second (DTS_SYNC_PROGRESS_MS): wait for one, at most 30 s.
      const progress = /shop: syncing: shop applied [0-9A-F]+\/[0-9A-F]+, [\d,]+ transactions/;
      for (let i = 0; i < 300 && !progress.test(run.stderr()); i++)
        await new Promise((res) => setTimeout(res, 100));
      expect(run.stderr()).toMatch(progress);
      // Changes committed just before the request must still arrive.
      await workload('shop', 20, 20_000);
      const c = await runDts(['complete', file, '--json'], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      const report = JSON.parse(c.stdout);
      expect(report).toMatchObject({ task: 'shop', ok: true, phase: 'completed' });
      expect(report.transactions).toBeGreaterThanOrEqual(170);
      expect(report.endLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      const ended = await run.exited;
      expect(ended.stderr).not.toMatch(/^error:/m);
      // Nothing from Node or a library meant for developers (a deprecation, an unhandled rejection).
      expect(ended.stderr).not.toMatch(/Warning|\(node:\d+\)/);
      expect(ended.code).toBe(0);
      expect(ended.stdout).toContain('completed task shop:');
    } finally {
      run.child.kill('SIGKILL');
    }
    await expectEqual('shop', 'shop');
    const after = await runDts(['status', file, '--json'], { env });
    expect(JSON.parse(after.stdout)).toMatchObject({ phase: 'completed', condition: 'done' });
    const again = await runDts(['complete', file], { env });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(
      'error: task shop is not syncing (it is already completed); nothing to complete',
    );
  });

  it('kill -9 during sync: run resumes sync without copying again, complete: equal, no duplicates', async () => {
    const file = incrementalTask('crash', 'crash', 'crash');
    const first = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      await workload('crash', 60, 30_000);
      await new Promise((res) => setTimeout(res, 1500));
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    await workload('crash', 40, 40_000);
    const dead = await runDts(['complete', file], { env });
    expect(dead.code).toBe(5);
    expect(dead.stderr).toContain(
      'error: task crash is not syncing (its runner is not running; `dts run` resumes sync); nothing to complete',
    );

    const second = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 60_000);
      await workload('crash', 30, 50_000);
      const c = await runDts(['complete', file], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      expect(c.stdout).toContain('completed task crash:');
      const ended = await second.exited;
      expect(ended.code).toBe(0);
      expect(ended.stderr).toContain(
        'crash: the full load was done by an earlier run; not copying again, resuming sync',
      );
      expect(ended.stderr).not.toContain('copying it again');
    } finally {
      second.child.kill('SIGKILL');
    }
    await expectEqual('crash', 'crash');
  });

  it('cancel during sync: the runner stops, the source is released, --restart refuses to resume', async () => {
    const file = incrementalTask('stop', 'stop', 'stop');
    const run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      await workload('stop', 10, 60_000);
      const c = await runDts(['cancel', file], { env });
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.code).toBe(5);
      expect(ended.stderr).toContain('error: task stop was cancelled (dts cancel)');
    } finally {
      run.child.kill('SIGKILL');
    }
    expect((await source.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
    expect((await source.query(`SELECT pubname FROM pg_publication`, [], 'stop')).rows).toEqual([]);
    const again = await runDts(['run', '--restart', file], { env });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(
      'error: task stop was cancelled after its copy; incremental sync cannot go on without its slot\n',
    );
  });
});
