import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { env, startRun, taskFile, type Background } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-kill9-'));
const runEnv = { ...env, DTS_TEST_COPY_DELAY_MS: '200', DTS_SYNC_PROGRESS_MS: '500' };

/** A small deterministic generator, so a failing seed can be replayed. */
function random(seed: number): (lo: number, hi: number) => number {
  let x = seed * 2654435761;
  return (lo, hi) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return lo + (x % (hi - lo));
  };
}

const DDL = `
CREATE TABLE items (id int PRIMARY KEY, v text, n int);
INSERT INTO items SELECT g, md5(g::text), g FROM generate_series(1, 60000) g;
CREATE INDEX items_v ON items (v);
CREATE INDEX items_n ON items (n, v);
CREATE TABLE log (n int, v text);
ALTER TABLE log REPLICA IDENTITY FULL;
INSERT INTO log SELECT g % 100, md5(g::text) FROM generate_series(1, 20000) g;
CREATE INDEX log_v ON log (v);
`;

async function phase(name: string, database: string): Promise<string | undefined> {
  try {
    const { rows } = await target.query<{ phase: string }>(
      `SELECT phase FROM _dts.tasks WHERE task = $1`,
      [name],
      database,
    );
    return rows[0]?.phase;
  } catch {
    return undefined; // no database or no _dts yet
  }
}

/** Wait for `ok`; fail with the runner's output when it ends first or time runs out. */
async function until(ok: () => Promise<boolean>, run?: Background, ms = 240_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    const ended = run && (run.child.exitCode !== null || run.child.signalCode !== null);
    if (ended || Date.now() > deadline) {
      const out = ended ? (await run.exited).stdout.split('\n').filter((l) => /FAIL|fix:/.test(l)) : [];
      throw new Error(
        `${ended ? 'the run ended' : 'timed out'}; it printed:\n${run?.stderr().slice(-3000)}\n${out.join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a `dts complete` recorded its cutover request (the runner then completes by itself). */
async function cutoverRequested(database: string): Promise<boolean> {
  const { rows } = await target.query<{ asked: boolean }>(
    `SELECT cutover_lsn IS NOT NULL AS asked FROM _dts.tasks WHERE task = $1`,
    [database],
    database,
  );
  return rows[0]?.asked === true;
}

/** Until this run is the live runner in phase syncing (the recorded phase alone may be a dead run's). */
async function syncingRunner(file: string, run: Background): Promise<void> {
  await until(async () => {
    const r = await runDts(['status', file, '--json'], { env });
    if (r.code !== 0) return false;
    const s = JSON.parse(r.stdout) as { phase: string; runner?: { alive: boolean; pid?: number } };
    return s.phase === 'syncing' && s.runner?.alive === true && s.runner.pid === run.child.pid;
  }, run);
}

async function changes(database: string, base: number): Promise<void> {
  await source.query(
    `INSERT INTO items SELECT g, 'new', g FROM generate_series(${base}, ${base + 49}) g;
     UPDATE items SET v = v || '+' WHERE id % 997 = ${base % 997};
     DELETE FROM items WHERE id % 1009 = ${base % 1009};
     INSERT INTO log SELECT ${base % 100}, 'w' || g FROM generate_series(1, 20) g;
     DELETE FROM log WHERE n = ${(base + 1) % 100} AND v LIKE 'w%'`,
    [],
    database,
  );
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('kill -9 of dts run at random moments, then run again (full+incremental, 14 -> 17)', () => {
  it.each([1, 2, 3])(
    'seed %i: killed during copy, index build, sync and complete; the final target equals the source',
    async (seed) => {
      const rnd = random(seed);
      const db = `kill${seed}`;
      await source.query(`CREATE DATABASE ${db}`);
      await source.query(DDL, [], db);
      const file = taskFile(dir, source, target, db, db, db, 'full+incremental');
      const runs: Background[] = [];
      const kills: string[] = [];
      const killAt = async (when: string[], delay: number) => {
        const run = startRun([file], runEnv);
        runs.push(run);
        await until(async () => when.includes((await phase(db, db)) ?? '') || run.child.exitCode !== null);
        await new Promise((r) => setTimeout(r, delay));
        const seen = await phase(db, db);
        run.child.kill('SIGKILL');
        await run.exited;
        kills.push(`${when[0]}+${delay}ms (phase ${seen})`);
      };
      try {
        await killAt(['copy'], rnd(0, 1500));
        await killAt(['copy', 'post-data'], rnd(200, 2500));
        await killAt(['post-data', 'syncing'], rnd(0, 800));
        // Sync: changes before, during and after the kill.
        const run = startRun([file], runEnv);
        runs.push(run);
        await syncingRunner(file, run);
        for (let i = 0; i < 5; i++) await changes(db, 100_000 + i * 100);
        await new Promise((r) => setTimeout(r, rnd(0, 1500)));
        run.child.kill('SIGKILL');
        await run.exited;
        kills.push('syncing');
        for (let i = 5; i < 10; i++) await changes(db, 100_000 + i * 100);

        // Inside complete: the runner dies after the cutover was asked for.
        const again = startRun([file], runEnv);
        runs.push(again);
        await syncingRunner(file, again);
        await changes(db, 200_000);
        const complete = runDts(['complete', file], { env });
        await new Promise((r) => setTimeout(r, rnd(0, 600)));
        again.child.kill('SIGKILL');
        await again.exited;
        kills.push(`inside complete (phase ${await phase(db, db)})`);
        await complete;

        // Run until the task is completed: the next run finishes a cutover by itself (the request of the
        // killed complete is recorded), or syncs and needs a complete of its own.
        const last = startRun([file], runEnv);
        runs.push(last);
        await until(async () => ['syncing', 'completed'].includes((await phase(db, db)) ?? ''), last);
        if ((await phase(db, db)) === 'syncing' && !(await cutoverRequested(db))) {
          await syncingRunner(file, last);
          const c = await runDts(['complete', file], { env });
          expect(c.stderr).not.toMatch(/^error:/m);
          expect(c.code).toBe(0);
        }
        const ended = await last.exited;
        expect(ended.stderr).not.toMatch(/^error:/m);
        expect(ended.code).toBe(0);
        console.log(`seed ${seed}: killed at ${kills.join(', ')}; ${runs.length} runs`);
      } finally {
        for (const r of runs) r.child.kill('SIGKILL');
      }
      expect(await phase(db, db)).toBe('completed');
      const result = await compareDatabases(source, db, target, db);
      expect(result.differences).toEqual([]);
      expect((await source.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
    },
    600_000,
  );
});
