import { describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { env, startRun, statusUntil } from '../integration/state/helpers.js';
import {
  caughtUp,
  expectReleased,
  runEnv,
  servers,
  taskFile,
  useStandbyServers,
} from '../e2e/standby-servers.js';

/** A hot standby as the source, beyond test/e2e/standby.test.ts: mode full, and cancel during sync. */
useStandbyServers();

describe('a hot standby as the source (more)', () => {
  it('mode full from the standby: the copy equals the primary', async () => {
    const file = taskFile('copy', 'full', 'copy', true);
    const r = await runDts(['run', '--now', file], { env });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    await caughtUp();
    const cmp = await compareDatabases(servers.primary, 'shop', servers.target, 'copy');
    expect(cmp.differences).toEqual([]);
    expect(cmp.tables).toEqual(['public.events', 'public.items']);
    await expectReleased();
  });

  it('cancel during sync drops the slot on the standby and the publication on the primary', async () => {
    const file = taskFile('stop', 'full+incremental', 'stop', true);
    const run = startRun([file], runEnv);
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 60_000);
      expect((await servers.primary.query(`SELECT pubname FROM pg_publication`, [], 'shop')).rows).toEqual([
        { pubname: 'dts_stop_shop' },
      ]);
      expect((await servers.standby.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([
        { slot_name: 'dts_stop_shop' },
      ]);
      const c = await runDts(['cancel', file], { env });
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.code).toBe(5);
      expect(ended.stderr).toContain('error: task stop was cancelled (dts cancel)');
    } finally {
      run.child.kill('SIGKILL');
    }
    await expectReleased();
  });
});
