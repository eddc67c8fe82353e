import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { digest } from '../integration/copy/helpers.js';
import { env, loadBig, startRun, statusUntil, taskFile } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-status-cancel-e2e-'));
// DTS_TEST_COPY_DELAY_MS (test-only, see src/copy/full-load.ts) makes each COPY unit start late, so
// the run stays in its copy phase long enough to be looked at and cancelled from another process.
const slow = { ...env, DTS_TEST_COPY_DELAY_MS: '1000' };

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await loadBig(source, 'big');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('dts status and dts cancel on the built CLI', () => {
  it('status of a task that never ran: exit 5', async () => {
    const r = await runDts(['status', taskFile(dir, source, target, 'never', 'big', 'never_db')], { env });
    expect(r.stderr).toContain('error: task never has not run on this target (no _dts state)');
    expect(r.code).toBe(5);
  });

  it('status while running, a second run refused, cancel stops the runner and drops the slot', async () => {
    const file = taskFile(dir, source, target, 'shop', 'big', 'shop');
    const run = startRun([file], slow);
    try {
      const s = await statusUntil(
        file,
        (x) =>
          x.condition === 'running' && x.databases[0]?.phase === 'copy' && x.databases[0].tablesTotal > 0,
      );
      expect(s.phase).toBe('copy');
      expect(s.runner).toMatchObject({ alive: true, pid: run.child.pid, host: hostname() });
      expect(s.databases[0].tablesTotal).toBe(2);
      expect(s.databases[0].consistentPoint).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

      const human = await runDts(['status', file], { env });
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(
        `task shop (mode full): running (pid ${run.child.pid} on host ${hostname()}`,
      );
      expect(human.stdout).toMatch(/big -> shop: copy/);

      const second = await runDts(['run', file], { env });
      expect(second.code).toBe(5);
      expect(second.stderr).toContain(
        `error: task shop is already running (pid ${run.child.pid} on host ${hostname()} since ${s.runner.since})`,
      );

      // Off a terminal, --watch prints a new block each interval and stops once the task is cancelled.
      const watch = runDts(['status', file, '--watch', '0.5'], { env });
      await new Promise((res) => setTimeout(res, 1500));
      const c = await runDts(['cancel', file], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      expect(c.stdout).toContain('task shop: cancelled (the runner stopped)');
      const ended = await run.exited;
      expect(ended.code).toBe(5);
      expect(ended.stderr).toContain('error: task shop was cancelled (dts cancel)');
      const watched = await watch;
      expect(watched.code).toBe(0);
      const blocks = watched.stdout.trim().split('\n\n');
      expect(blocks.length).toBeGreaterThan(1);
      expect(blocks[0]).toContain('task shop (mode full): running');
      expect(blocks.at(-1)).toContain('task shop (mode full): cancelled; `dts run --restart');
    } finally {
      run.child.kill('SIGKILL');
    }
    expect((await source.query('SELECT slot_name FROM pg_replication_slots')).rows).toEqual([]);
    const after = await runDts(['status', file, '--json'], { env });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({
      condition: 'cancelled',
      phase: 'cancelled',
      runner: { alive: false },
    });

    const refused = await runDts(['run', file], { env });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('error: task shop was cancelled');
    expect(refused.stderr).toContain(`hint: \`dts run --restart ${file}\` starts it again`);
  });

  it('run --restart runs the cancelled task again, to the same rows as the source', async () => {
    const file = join(dir, 'shop.yaml');
    const r = await runDts(['run', '--restart', file], { env });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('shop: resuming (recorded phase: cancelled)');
    for (const t of ['public.items', 'public.log'])
      expect(`${t} ${await digest(target, 'shop', t)}`).toBe(`${t} ${await digest(source, 'big', t)}`);
  });

  it('cancel --drop-target while running: the runner stops, the database dts created is dropped', async () => {
    const file = taskFile(dir, source, target, 'gone', 'big', 'gone_db');
    const run = startRun([file], slow);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.databases[0]?.phase === 'copy');
      const r = await runDts(['cancel', file, '--drop-target', '--json'], { env });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        task: 'gone',
        stoppedRunner: true,
        droppedDatabases: ['gone_db'],
      });
      expect((await run.exited).code).toBe(5);
    } finally {
      run.child.kill('SIGKILL');
    }
    expect((await target.query(`SELECT datname FROM pg_database WHERE datname = 'gone_db'`)).rows).toEqual(
      [],
    );
    expect((await source.query('SELECT slot_name FROM pg_replication_slots')).rows).toEqual([]);
    const s = await runDts(['status', file], { env });
    expect(s.code).toBe(5);
    expect(s.stderr).toContain('error: task gone has not run on this target (no _dts state)');
  });
});
