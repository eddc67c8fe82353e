import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../harness/pg-server.js';
import { digest } from '../integration/copy/helpers.js';
import { env, startRun, statusUntil, taskFile } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-verify-e2e-'));
const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '1000' };
const TABLES = ['public.items', 'public.events', 'public.quiet', 'public.m_low', 'public.m_high'];

function incrementalTask(name: string, database: string): string {
  return taskFile(dir, source, target, name, database, database, 'full+incremental');
}

async function load(database: string): Promise<void> {
  await source.query(`CREATE DATABASE ${database}`);
  await source.query(
    `CREATE TABLE items (id serial PRIMARY KEY, v text, n int, f float8, at timestamptz);
     INSERT INTO items (v, n, f, at) SELECT md5(g::text), g, g / 3.0, '2024-01-01'::timestamptz + g * interval '1 min'
       FROM generate_series(1, 5000) g;
     CREATE TABLE events (id int NOT NULL, note text);
     ALTER TABLE events REPLICA IDENTITY FULL;
     INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 1000) g;
     CREATE TABLE quiet (id int PRIMARY KEY, v text);
     INSERT INTO quiet SELECT g, 'q' || g FROM generate_series(1, 100) g;
     CREATE TABLE measures (id int, at int, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
     CREATE TABLE m_low PARTITION OF measures FOR VALUES FROM (0) TO (100);
     CREATE TABLE m_high PARTITION OF measures FOR VALUES FROM (100) TO (200);
     INSERT INTO measures SELECT g, g % 200, g FROM generate_series(1, 1000) g;
     ANALYZE`,
    [],
    database,
  );
}

/**
 * Writers committing small transactions (inserts, updates, deletes, rows moving between partitions)
 * on two connections until stopped: while verify runs, there is always something in flight.
 */
function writeUntilStopped(database: string): { stop: () => Promise<number> } {
  let stopped = false;
  let transactions = 0;
  const writer = async (w: number) => {
    const c = new pg.Client({
      host: source.host,
      port: source.port,
      user: 'postgres',
      password: SUPERUSER_PASSWORD,
      database,
    });
    c.on('error', () => undefined);
    await c.connect();
    // Each writer has its own rows (odd or even ids): no lock waits, no partition-move conflicts.
    const mine = (x: number, n: number) => 2 * (x % (n / 2)) + 1 + w;
    try {
      for (let k = w * 1_000_000; !stopped; k++) {
        await c.query(
          `BEGIN;
           INSERT INTO items (v, n, f, at) VALUES (md5('${k}'), ${k}, ${k} / 7.0, now());
           UPDATE items SET v = v || 'u', f = f * 1.5 WHERE id = ${mine(k, 5000)};
           DELETE FROM items WHERE id = ${mine(k * 7, 5000)};
           INSERT INTO events VALUES (${k}, 'w${k}');
           UPDATE events SET note = note || '!' WHERE id = ${mine(k, 1000)};
           UPDATE measures SET v = v + 1 WHERE id = ${mine(k, 1000)};
           UPDATE measures SET at = (at + 100) % 200 WHERE id = ${mine(k * 11, 1000)};
           COMMIT`,
        );
        transactions++;
        // Paced, so that sync keeps up on a shared test machine (verify waits for sync to reach its position).
        await new Promise((res) => setTimeout(res, 20));
      }
    } finally {
      await c.end();
    }
  };
  const running = Promise.all([writer(0), writer(1)]);
  running.catch(() => undefined); // awaited (and rethrown) by stop()
  return {
    stop: async () => {
      stopped = true;
      await running;
      return transactions;
    },
  };
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await load('live');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('dts verify and complete --verify on the built CLI, 14 -> 17, while the source takes writes', () => {
  it('verify of a task that never ran: exit 5', async () => {
    const r = await runDts(['verify', incrementalTask('never', 'live')], { env });
    expect(r.stderr).toContain('error: task never has not copied anything to this target\n');
    expect(r.code).toBe(5);
  });

  it('live: equal under a concurrent workload; a difference blocks complete --verify; equal completes', async () => {
    const file = incrementalTask('live', 'live');
    const run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      const load = writeUntilStopped('live');
      let verified: { ok: boolean; consistency: { mode: string; positions: Record<string, string> } }[];
      try {
        // Twice, so the second verify starts from a runner that resumed after the first one's hold.
        verified = [];
        for (let i = 0; i < 2; i++) {
          const r = await runDts(['verify', file, '--json', '--parallel', '2'], { env });
          expect(r.stderr).not.toMatch(/^error:/m);
          const report = JSON.parse(r.stdout);
          expect(report.tables.filter((t: { status: string }) => t.status !== 'ok')).toEqual([]);
          expect(report.schema).toEqual([]);
          expect(r.code).toBe(0);
          verified.push(report);
        }
      } finally {
        expect(await load.stop()).toBeGreaterThan(20);
      }
      expect(verified.map((v) => [v.ok, v.consistency.mode])).toEqual([
        [true, 'live'],
        [true, 'live'],
      ]);
      const [first, second] = verified.map((v) => v.consistency.positions.live!);
      expect(first).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(first).not.toBe(second);
      // Sync went on after the holds: the runner is still syncing, nothing stopped.
      expect(run.stderr()).toContain('dts verify released sync');

      // A verify that died while holding: its hold lapses at its deadline and sync goes on.
      const holdsBefore = run.stderr().split('asked sync to hold').length;
      await target.query(
        `INSERT INTO _dts.holds (task, token, state, expires_at) VALUES ('live', 'dead', 'pause', now() + interval '3 seconds')`,
        [],
        'live',
      );
      const deadline = Date.now() + 60_000;
      // The runner takes the hold (its poll runs every second), then the hold lapses.
      while (run.stderr().split('asked sync to hold').length === holdsBefore) {
        if (Date.now() > deadline)
          throw new Error(`the runner did not take the stale hold:\n${run.stderr()}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      await source.query(`INSERT INTO items (v, n) VALUES ('after a stale hold', -2)`, [], 'live');
      for (;;) {
        const { rows } = await target.query(`SELECT 1 FROM items WHERE v = 'after a stale hold'`, [], 'live');
        if (rows.length === 1) break;
        if (Date.now() > deadline) throw new Error(`sync did not go on after a stale hold:\n${run.stderr()}`);
        await new Promise((res) => setTimeout(res, 250));
      }
      expect(run.stderr().split('asked sync to hold').length).toBe(holdsBefore + 1);

      // A change behind dts' back on the target: complete --verify refuses and the task keeps syncing.
      await target.query(`UPDATE quiet SET v = NULL WHERE id = 42`, [], 'live');
      const refused = await runDts(['complete', '--verify', file], { env });
      expect(refused.stdout).toMatch(/^DIFFERENT public\.quiet \(100 rows; 1 changed\)$/m);
      expect(refused.stdout).toMatch(/^ {10}changed id=42$/m);
      expect(refused.stderr).toContain(
        'error: task live was not completed: verify found differences (sync goes on)',
      );
      expect(refused.code).toBe(1);
      const status = await runDts(['status', file, '--json'], { env });
      expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'syncing', condition: 'running' });

      await target.query(`UPDATE quiet SET v = 'q42' WHERE id = 42`, [], 'live');
      await source.query(`INSERT INTO items (v, n) VALUES ('last', -1)`, [], 'live');
      const c = await runDts(['complete', '--verify', file, '--json'], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      const report = JSON.parse(c.stdout);
      expect(report).toMatchObject({ task: 'live', ok: true, phase: 'completed' });
      expect(report.verify.ok).toBe(true);
      // The cutover is at exactly the verified position.
      expect(report.endLsn).toBe(report.verify.consistency.positions.live);
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.stderr).not.toMatch(/^error:/m);
      expect(ended.code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
    for (const t of TABLES)
      expect(`${t} ${await digest(target, 'live', t)}`).toBe(`${t} ${await digest(source, 'live', t)}`);

    // After the cutover: the current states, sequences included (target >= source).
    const after = await runDts(['verify', file], { env });
    expect(after.stdout).toContain('the task is completed: the current states are compared');
    expect(after.stdout).toMatch(/^EQUAL: 5 table\(s\), 0 different;/m);
    expect(after.code).toBe(0);
  }, 300_000);
});
