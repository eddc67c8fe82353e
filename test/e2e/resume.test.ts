import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { digest } from '../integration/copy/helpers.js';
import { env, loadBig, startRun, statusUntil, taskFile } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-resume-e2e-'));
// Test-only knob (src/copy/full-load.ts): each COPY unit starts 1 s late, so the run can be stopped mid-copy.
const slow = { ...env, DTS_TEST_COPY_DELAY_MS: '1000' };
const TABLES = ['public.items', 'public.log'];
const STATE_ROWS = `SELECT (SELECT json_agg(t) FROM _dts.tasks t) AS tasks, (SELECT json_agg(l) FROM _dts.loads l) AS loads,
  (SELECT json_agg(c ORDER BY c.table_name, c.part) FROM _dts.table_copies c) AS copies,
  (SELECT json_agg(d) FROM _dts.databases d) AS databases`;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await loadBig(source, 'big');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const copying = (s: any) =>
  s.condition === 'running' && s.databases[0]?.phase === 'copy' && s.databases[0].rows > 0;

describe('a stopped dts run (mode: full) resumes', () => {
  const file = () => join(dir, 'resume.yaml');

  it('Ctrl-C stops gracefully: exit 5, state recorded, status says interrupted', async () => {
    taskFile(dir, source, target, 'resume', 'big', 'resumed');
    const run = startRun([file()], slow);
    try {
      await statusUntil(file(), copying);
      run.child.kill('SIGINT');
      const ended = await run.exited;
      expect(ended.code).toBe(5);
      expect(ended.stderr).toContain('resume: stopping (recording the state; Ctrl-C again stops at once)');
      expect(ended.stderr).toContain('error: task resume was interrupted; nothing is lost');
      expect(ended.stderr).toContain(`hint: run \`dts run ${file()}\` again to resume`);
    } finally {
      run.child.kill('SIGKILL');
    }
    const s = await runDts(['status', file(), '--json'], { env });
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({
      phase: 'interrupted',
      condition: 'interrupted',
      summary: `interrupted (no runner); run \`dts run ${file()}\` to resume`,
      runner: { alive: false },
    });
    expect((await source.query('SELECT slot_name FROM pg_replication_slots')).rows).toEqual([]);
  });

  it('Ctrl-C twice stops at once: exit 5, and the run is still resumable (status: interrupted)', async () => {
    const run = startRun([file()], slow);
    try {
      await statusUntil(file(), (x) => x.condition === 'running' && x.phase === 'copy');
      run.child.kill('SIGINT');
      // Two signals sent back to back may arrive as one: the second goes once the first was seen.
      while (!run.stderr().includes('stopping (')) await new Promise((r) => setTimeout(r, 2));
      run.child.kill('SIGINT');
      const ended = await run.exited;
      expect(ended.code).toBe(5);
      expect(ended.stderr).toContain(`resume: stopped at once; run \`dts run ${file()}\` again to resume`);
    } finally {
      run.child.kill('SIGKILL');
    }
    const s = await statusUntil(file(), (x) => !x.runner.alive);
    expect(s.condition).toBe('interrupted');
  });

  it('kill -9 mid-copy: status says interrupted; run again recopies from a new snapshot, row for row', async () => {
    const stale = (await statusUntil(file(), () => true)).databases[0].consistentPoint;
    const run = startRun([file()], slow);
    let firstPoint: string;
    try {
      // Until this run's own snapshot is recorded, status shows it alive with the last run's numbers.
      const s = await statusUntil(file(), (x) => copying(x) && x.databases[0].consistentPoint !== stale);
      firstPoint = s.databases[0].consistentPoint;
      run.child.kill('SIGKILL');
      await run.exited;
    } finally {
      run.child.kill('SIGKILL');
    }
    const s = await statusUntil(file(), (x) => !x.runner.alive);
    expect(s).toMatchObject({ phase: 'copy', condition: 'interrupted' });
    const human = await runDts(['status', file()], { env });
    expect(human.stdout).toContain(
      `task resume (mode full): interrupted (no runner); run \`dts run ${file()}\` to resume`,
    );
    // Some ranges of the killed run are committed on the target: the rerun must not add to them.
    const partial = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM items', [], 'resumed');
    expect(partial.rows[0]!.n).toBeGreaterThan(0);

    const again = await runDts(['run', file()], { env });
    expect(again.stderr).not.toMatch(/^error:/m);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('resume: resuming (recorded phase: copy)');
    expect(again.stderr).toContain(
      'the schema (pre-data) was created by an earlier run; not creating it again',
    );
    expect(again.stderr).toContain('the copy of big was interrupted; copying it again from a new snapshot');
    for (const t of TABLES)
      expect(`${t} ${await digest(target, 'resumed', t)}`).toBe(`${t} ${await digest(source, 'big', t)}`);
    const keys = await target.query(
      `SELECT conname FROM pg_constraint WHERE conrelid = 'public.items'::regclass AND contype = 'p'`,
      [],
      'resumed',
    );
    expect(keys.rows).toHaveLength(1);
    expect((await source.query('SELECT slot_name FROM pg_replication_slots')).rows).toEqual([]);
    const done = await runDts(['status', file(), '--json'], { env });
    const snapshot = JSON.parse(done.stdout);
    expect(snapshot).toMatchObject({ phase: 'done', condition: 'done' });
    expect(snapshot.databases[0]).toMatchObject({
      phase: 'done',
      tablesDone: 2,
      tablesTotal: 2,
      rows: 250000,
    });
    expect(snapshot.databases[0].consistentPoint).not.toBe(firstPoint!);
  });

  it('run again after done: "already done", exit 0, nothing touched; cancel of a done task: exit 5', async () => {
    const before = await target.query(STATE_ROWS, [], 'resumed');
    const again = await runDts(['run', file()], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('resume: task resume is already done; nothing to do');
    expect(again.stderr).not.toContain('validating');
    const after = await target.query(STATE_ROWS, [], 'resumed');
    expect(after.rows).toEqual(before.rows);
    for (const t of TABLES)
      expect(`${t} ${await digest(target, 'resumed', t)}`).toBe(`${t} ${await digest(source, 'big', t)}`);

    // --watch stops by itself once the task is settled: one block (or one JSON line).
    const watched = await runDts(['status', file(), '--watch', '1', '--json'], { env });
    expect(watched.code).toBe(0);
    expect(watched.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(watched.stdout)).toMatchObject({ condition: 'done' });

    const c = await runDts(['cancel', file()], { env });
    expect(c.code).toBe(5);
    expect(c.stderr).toContain('error: task resume is already done; nothing to cancel');
  });
});
