import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { openSession, startServer, type TestServer } from '../harness/pg-server.js';
import { digest } from '../integration/copy/helpers.js';
import { env, startRun, statusUntil, taskFile, type Background } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-sync-status-e2e-'));
const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '1000' };
const LSN = /^[0-9A-F]+\/[0-9A-F]+$/;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function incrementalTask(name: string, database: string): string {
  return taskFile(dir, source, target, name, database, database, 'full+incremental');
}

async function load(database: string): Promise<void> {
  await source.query(`CREATE DATABASE ${database}`);
  await source.query(
    `CREATE TABLE items (id serial PRIMARY KEY, v text, n int);
     INSERT INTO items (v, n) SELECT md5(g::text), g FROM generate_series(1, 1000) g;
     CREATE TABLE events (id int NOT NULL, note text);
     ALTER TABLE events REPLICA IDENTITY FULL;
     INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 300) g;
     CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM items;
     ANALYZE`,
    [],
    database,
  );
}

/** Small transactions: an insert (taking a sequence value), an update, a delete, on both tables. */
async function workload(database: string, rounds: number, base: number): Promise<void> {
  const session = await openSession(source, database);
  try {
    for (let i = 0; i < rounds; i++) {
      const k = base + i;
      await session.query(
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
    await session.end();
  }
}

async function expectEqual(database: string): Promise<void> {
  for (const t of ['public.items', 'public.events'])
    expect(`${t} ${await digest(target, database, t)}`).toBe(`${t} ${await digest(source, database, t)}`);
  expect(
    (await source.query(`SELECT slot_name FROM pg_replication_slots WHERE database = $1`, [database])).rows,
  ).toEqual([]);
  expect((await source.query(`SELECT pubname FROM pg_publication`, [], database)).rows).toEqual([]);
}

const lastValue = async (s: TestServer, database: string) =>
  Number(
    (await s.query<{ v: string }>(`SELECT last_value::text AS v FROM items_id_seq`, [], database)).rows[0]!.v,
  );

/** The one database's sync figures of a status snapshot. */
const syncOf = (s: Json) => s.databases?.[0]?.sync;

async function stopRun(run: Background): Promise<void> {
  run.child.kill('SIGKILL');
  await run.exited;
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await load('watch');
  await load('cut');
  await load('cut2');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('dts status during sync and dts complete options (14 -> 17, built CLI)', () => {
  it('status shows lag, rate, retained WAL, reconnects; a dead runner; complete --wait-for-lag --sequence-gap', async () => {
    const file = incrementalTask('watch', 'watch');
    let run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      await workload('watch', 50, 10_000);

      // Caught up: every transaction applied, the source idle, so no lag at all.
      const caught = await statusUntil(
        file,
        (x) => syncOf(x)?.transactions >= 50 && syncOf(x)?.lagBytes === 0,
        60_000,
      );
      const sync = syncOf(caught);
      expect(sync).toMatchObject({ state: 'streaming', caughtUp: true, lagSeconds: 0, reconnects: 0 });
      expect(sync.appliedLsn).toMatch(LSN);
      expect(sync.receivedLsn).toMatch(LSN);
      expect(sync.changes).toBeGreaterThanOrEqual(50 * 4);
      expect(Date.parse(sync.appliedCommitTime)).toBeGreaterThan(Date.parse(caught.databases[0].snapshotAt));
      expect(sync.walRetainedBytes).toBeGreaterThanOrEqual(0);
      expect(caught.source).toEqual({ reachable: true });
      // The text form of the same; background WAL on the idle source (autovacuum, a checkpoint) may show
      // as a few kB of lag until the runner's next heartbeat confirms past it, so read until it is 0 again.
      let text = await runDts(['status', file], { env });
      for (let i = 0; i < 20 && !/\n {4}lag 0 bytes/.test(text.stdout); i++) {
        await new Promise((r) => setTimeout(r, 500));
        text = await runDts(['status', file], { env });
      }
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(
        /\n {4}sync streaming: applied [0-9A-F]+\/[0-9A-F]+ \(source commit \d{4}-\d\d-\d\dT[\d:.]+Z\), received [0-9A-F]+\/[0-9A-F]+\n/,
      );
      expect(text.stdout).toMatch(
        /\n {4}lag 0 bytes, 0\.0 s \(caught up\); applying [\d,.]+ tx\/s, [\d,.]+ rows\/s; [\d,]+ transactions, [\d,]+ rows this run\n/,
      );
      expect(text.stdout).toMatch(/\n {4}WAL retained on the source by the slot: \d+ (bytes|kB|MB)\n/);

      // Paused runner: the source moves on, the target does not.
      run.child.kill('SIGSTOP');
      try {
        await workload('watch', 20, 20_000);
        const behind = await statusUntil(file, (x) => syncOf(x)?.caughtUp === false, 60_000);
        expect(syncOf(behind).lagBytes).toBeGreaterThan(0);
        expect(syncOf(behind).lagSeconds).toBeGreaterThan(0);
        expect(syncOf(behind).transactionsPerSecond).toBe(0);
      } finally {
        run.child.kill('SIGCONT');
      }
      await statusUntil(file, (x) => syncOf(x)?.lagBytes === 0 && syncOf(x)?.transactions >= 70, 60_000);

      // A cut replication connection: counted, its error shown, and sync goes on.
      await source.query(
        `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = 'watch'`,
      );
      const cut = await statusUntil(file, (x) => syncOf(x)?.reconnects >= 1, 60_000);
      expect(syncOf(cut).lastError).toMatch(/terminat/i);
      await workload('watch', 10, 30_000);
      const after = await statusUntil(
        file,
        (x) => syncOf(x)?.lagBytes === 0 && syncOf(x)?.transactions >= 80,
        60_000,
      );
      expect(syncOf(after).state).toBe('streaming');
      const shown = await runDts(['status', file], { env });
      expect(shown.stdout).toMatch(
        /\n {4}reconnects: 1; last error at \d{4}-\d\d-\d\dT[\d:.]+Z: .*terminat.*\n/i,
      );
    } finally {
      await stopRun(run);
    }

    // The runner is dead: status says so, shows its last figures and their age.
    await workload('watch', 5, 40_000);
    const dead = await runDts(['status', file, '--json'], { env });
    expect(dead.code).toBe(0);
    const d = JSON.parse(dead.stdout);
    expect(d).toMatchObject({
      condition: 'interrupted',
      runner: { alive: false },
      source: { reachable: true },
    });
    expect(syncOf(d).lagBytes).toBeGreaterThan(0);
    expect(syncOf(d).caughtUp).toBe(false);
    expect(syncOf(d).transactionsPerSecond).toBe(0);
    const deadText = await runDts(['status', file], { env });
    expect(deadText.stdout).toContain(`interrupted (no runner); run \`dts run ${file}\` to resume`);
    expect(deadText.stdout).toMatch(
      /\n {4}figures from \d+s ago \(at \d{4}-\d\d-\d\dT[\d:.]+Z\); the runner is not running\n/,
    );

    // An unreachable source: said, and what _dts holds is still shown.
    const closedPort = file.replace(/\.yaml$/, '-nosource.yaml');
    writeFileSync(closedPort, readFileSync(file, 'utf8').replace(`:${source.port}/`, ':1/'));
    const away = await runDts(['status', closedPort], { env });
    expect(away.code).toBe(0);
    expect(away.stdout).toMatch(/\n {2}source not reachable \(.+\): lag in bytes and retained WAL unknown\n/);
    expect(away.stdout).toMatch(/\n {4}lag unknown bytes, [\d.]+ s; applying 0\.0 tx\/s, 0\.0 rows\/s;/);

    // Resume, then cut over once the lag is under 5 s, with sequences 100 increments ahead.
    run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 60_000);
      const bad = await runDts(['complete', file, '--sequence-gap', '-3'], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(
        "error: option '--sequence-gap <n>' argument '-3' is invalid. expected a whole number, 0 or more",
      );
      const c = await runDts(['complete', file, '--wait-for-lag', '5', '--sequence-gap', '100'], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      expect(c.stderr).toMatch(/^watch: lag is at most 5 s: watch \d+\.\d s \(gives up in \d+ s\)$/m);
      expect(c.stderr).toMatch(
        /\nwatch: cutover requested at [0-9A-F]+\/[0-9A-F]+, sequences 100 increments ahead; waiting for the runner to apply the last changes\n/,
      );
      expect(c.stdout).toMatch(
        /\n {2}watch -> watch: applied up to [0-9A-F]+\/[0-9A-F]+, 1 sequences set, 1 materialized views refreshed\n/,
      );
      expect(c.stdout).toMatch(/\n {2}dropped on the source: slot \S+, publication \S+/);
      expect((await run.exited).code).toBe(0);
    } finally {
      await stopRun(run);
    }
    await expectEqual('watch');
    expect(await lastValue(target, 'watch')).toBe((await lastValue(source, 'watch')) + 100);
  }, 400_000);

  it('complete --wait-for-lag gives up after --lag-timeout with the runner paused; then complete --json', async () => {
    // Reuses nothing: a task on its own database.
    await load('slow');
    const file = incrementalTask('slow', 'slow');
    const run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      await statusUntil(file, (x) => syncOf(x) !== undefined, 30_000);
      run.child.kill('SIGSTOP');
      try {
        await workload('slow', 5, 10_000);
        // The paused runner's last figures said idle; they are trusted only while fresh.
        await statusUntil(file, (x) => syncOf(x)?.caughtUp === false, 60_000);
        const c = await runDts(['complete', file, '--wait-for-lag', '0', '--lag-timeout', '2'], { env });
        expect(c.code).toBe(5);
        expect(c.stderr).toMatch(
          /error: the lag of task slow did not come down to 0 s within 2 s \(last: \d+\.\d s\); no cutover was requested\n/,
        );
      } finally {
        run.child.kill('SIGCONT');
      }
      const s = await runDts(['status', file, '--json'], { env });
      expect(JSON.parse(s.stdout)).toMatchObject({ phase: 'syncing', condition: 'running' });
      const state = await target.query<{ cutover_lsn: string | null }>(
        `SELECT cutover_lsn::text FROM _dts.tasks WHERE task = 'slow'`,
        [],
        'slow',
      );
      expect(state.rows).toEqual([{ cutover_lsn: null }]);

      // complete --json carries each database's part of the cutover, recorded by the runner.
      const c = await runDts(['complete', file, '--json', '--timeout', '120'], { env });
      expect(c.stderr).toBe('');
      expect(c.code).toBe(0);
      const report = JSON.parse(c.stdout);
      expect(report).toMatchObject({
        task: 'slow',
        ok: true,
        phase: 'completed',
        droppedSlots: [expect.stringMatching(/./)],
        droppedPublications: [expect.stringMatching(/./)],
      });
      expect(report.databases).toHaveLength(1);
      expect(report.databases[0]).toMatchObject({
        source: 'slow',
        target: 'slow',
        sequences: 1,
        refreshed: ['public.item_count'],
      });
      expect(report.databases[0].appliedLsn).toMatch(LSN);
      // At least the workload's (PostgreSQL 14 also sends the empty transactions of other activity).
      expect(report.databases[0].transactions).toBeGreaterThanOrEqual(5);
      expect((await run.exited).code).toBe(0);
    } finally {
      await stopRun(run);
    }
  }, 300_000);

  it.each([
    { db: 'cut', knob: 'DTS_TEST_CUTOVER_DELAY_MS', when: 'after the drain', slotsLeft: 1 },
    { db: 'cut2', knob: 'DTS_TEST_RELEASED_DELAY_MS', when: 'after releasing the source', slotsLeft: 0 },
  ])(
    'a runner killed in phase cutover $when: run again finishes the cutover, equal, no duplicates',
    async ({ db, knob, slotsLeft }) => {
      const file = incrementalTask(db, db);
      const slots = async () =>
        (
          await source.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = $1`,
            [db],
          )
        ).rows[0]!.n;
      // The runner holds still for a while at that point of the cutover, so it is killed there.
      const first = startRun([file], { ...runEnv, [knob]: '60000' });
      let completing: ReturnType<typeof runDts> | undefined;
      try {
        await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
        await workload(db, 40, 10_000);
        completing = runDts(['complete', file, '--sequence-gap', '10'], { env });
        await statusUntil(file, (x) => x.phase === 'cutover', 60_000);
        for (let i = 0; i < 600 && (await slots()) !== slotsLeft; i++)
          await new Promise((res) => setTimeout(res, 100));
      } finally {
        await stopRun(first);
      }
      const failed = await completing!;
      expect(failed.code).toBe(5);
      expect(failed.stderr).toContain(
        `error: the runner of task ${db} stopped before completing (phase cutover)\n`,
      );
      expect(await slots()).toBe(slotsLeft);

      const again = await runDts(['run', file], { env: runEnv });
      expect(again.stderr).not.toMatch(/^error:/m);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain(
        `${db}: the last changes were applied by an earlier run; finishing the cutover`,
      );
      expect(again.stdout).toMatch(
        new RegExp(`completed task ${db}: [\\d,]+ transactions applied by incremental sync`),
      );
      expect(again.stdout).toContain('1 sequences set, 1 materialized views refreshed');
      await expectEqual(db);
      expect(await lastValue(target, db)).toBe((await lastValue(source, db)) + 10);
      const count = await target.query<{ n: number }>(`SELECT n::int AS n FROM item_count`, [], db);
      const real = await source.query<{ n: number }>(`SELECT count(*)::int AS n FROM items`, [], db);
      expect(count.rows).toEqual(real.rows);
      const status = await runDts(['status', file, '--json'], { env });
      expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'completed', condition: 'done' });
      const c = await runDts(['complete', file], { env });
      expect(c.code).toBe(5);
      expect(c.stderr).toContain(
        `error: task ${db} is not syncing (it is already completed); nothing to complete`,
      );
    },
    300_000,
  );
});
