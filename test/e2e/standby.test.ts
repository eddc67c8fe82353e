import { describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import type { TestServer } from '../harness/pg-server.js';
import { env, startRun, statusUntil } from '../integration/state/helpers.js';
import { expectReleased, runEnv, servers, taskFile, useStandbyServers, workload } from './standby-servers.js';

/**
 * A source that is a hot standby (PostgreSQL 17 streaming from a 17 primary): validate's findings, and
 * full+incremental under writes on the primary through `dts complete`. test/stress/standby.test.ts has
 * mode full and cancel.
 */
useStandbyServers();

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

    const ready = await runDts(['validate', taskFile('ready', 'full+incremental', 'ready', true)], {
      env,
    });
    expect(ready.stdout).toContain(
      'the source is a standby: dts makes the slot there and the publication on source.primary; a promotion or failover of the standby loses the slot (run again from scratch)',
    );
    expect(ready.stdout).not.toMatch(/FAIL/);
    expect(ready.code).toBe(0);
  });

  it('full+incremental from the standby under writes on the primary, then complete: equal, released', async () => {
    const file = taskFile('live', 'full+incremental', 'live', true);
    const run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 60_000);
      await workload(200, 10_000);
      // Status reads the standby's replay position; once the primary is quiet the slot is caught up.
      const s = await statusUntil(
        file,
        (x) => x.databases?.[0]?.sync?.transactions >= 200 && x.databases?.[0]?.sync?.lagBytes === 0,
        60_000,
      );
      expect(s.databases[0].sync.walRetainedBytes).toBeGreaterThanOrEqual(0);
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
    const cmp = await compareDatabases(servers.primary, 'shop', servers.target, 'live');
    expect(cmp.differences).toEqual([]);
    const seq = async (s: TestServer, db: string) =>
      Number(
        (await s.query<{ v: string }>(`SELECT last_value::text AS v FROM items_id_seq`, [], db)).rows[0]!.v,
      );
    expect(await seq(servers.target, 'live')).toBeGreaterThanOrEqual(await seq(servers.primary, 'shop'));
    await expectReleased();
  });

  it('validate: hot_standby_feedback off on the standby fails with the fix', async () => {
    await servers.standby.query('ALTER SYSTEM SET hot_standby_feedback = off');
    await servers.standby.query('SELECT pg_reload_conf()');
    try {
      const r = await runDts(['validate', taskFile('nofeedback', 'full', 'nofeedback', false)], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        'the source is a standby with hot_standby_feedback = off: vacuum on the primary can remove catalog rows the slot still needs, and the standby then invalidates the slot in the middle of the migration',
      );
      expect(r.stdout).toContain(
        'set hot_standby_feedback = on on the standby (and let it stream through a physical slot, primary_slot_name), then SELECT pg_reload_conf()',
      );
    } finally {
      await servers.standby.query('ALTER SYSTEM RESET hot_standby_feedback');
      await servers.standby.query('SELECT pg_reload_conf()');
    }
  });
});
