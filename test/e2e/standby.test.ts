import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWizard } from '../../src/cli/wizard/wizard.js';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { SUPERUSER_PASSWORD, type TestServer } from '../harness/pg-server.js';
import { scriptedPrompts } from '../harness/scripted-prompts.js';
import { env, startRun, statusUntil } from '../integration/state/helpers.js';
import {
  caughtUp,
  expectReleased,
  runEnv,
  servers,
  taskFile,
  useStandbyServers,
  workload,
} from './standby-servers.js';

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

  it("validate judges the publication rights of the primary's role, on the primary", async () => {
    // One role on both (a standby has its primary's roles): it owns nothing and has no CREATE on shop.
    await servers.primary.query(`CREATE ROLE mover LOGIN PASSWORD '${SUPERUSER_PASSWORD}'`);
    await caughtUp();
    const dir = mkdtempSync(join(tmpdir(), 'dts-standby-publisher-'));
    const file = (name: string, sourceUser: string, primaryUser: string) => {
      const as = (s: TestServer, user: string) => s.url('shop').replace('postgres@', `${user}@`);
      const f = join(dir, `${name}.yaml`);
      writeFileSync(
        f,
        `name: ${name}
mode: full+incremental
source:
  url: ${as(servers.standby, sourceUser)}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
  primary:
    url: ${as(servers.primary, primaryUser)}
    password: \${DTS_SOURCE_PASSWORD}
    sslmode: disable
target:
  url: ${servers.target.url(name)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
`,
      );
      return f;
    };
    try {
      // A superuser on the standby does not make up for the primary's role, where the publication is made.
      const weak = await runDts(['validate', file('weakprimary', 'postgres', 'mover')], { env });
      expect(weak.code).toBe(1);
      const lines = weak.stdout.split('\n');
      for (const want of [
        /FAIL +source\.privilege\.publication +shop: no CREATE privilege on the database on the primary: CREATE PUBLICATION needs it$/,
        /fix: GRANT CREATE ON DATABASE shop TO mover \(on the primary\)$/,
        /FAIL +source\.privilege\.publication +shop: mover does not own public\.(events|items), public\.(events|items) on the primary: only a table's owner \(or a superuser\) can add it to a publication$/,
        /fix: run dts as the tables' owner or a superuser, or GRANT postgres TO mover \(on the primary\)$/,
      ])
        expect(
          lines.some((l) => want.test(l)),
          `${String(want)}\n${weak.stdout}`,
        ).toBe(true);

      // The other way round: the standby's role owns nothing, the primary's is a superuser: it may.
      const strong = await runDts(['validate', file('strongprimary', 'mover', 'postgres'), '--json'], {
        env,
      });
      const result = JSON.parse(strong.stdout) as {
        results: { id: string; findings: { severity: string; message: string; object?: string }[] }[];
      };
      expect(result.results.find((r) => r.id === 'source.privilege.publication')?.findings).toEqual([
        expect.objectContaining({
          severity: 'pass',
          object: 'source.primary',
          message: 'postgres is a superuser on the primary',
        }),
      ]);
    } finally {
      await servers.primary.query('DROP ROLE mover');
    }
  });

  it('dts create: the wizard asks for the primary only when the source it connects to is in recovery', async () => {
    const standbyUrl = `${servers.standby.url('shop')}?sslmode=disable`;
    const primaryUrl = `${servers.primary.url('shop')}?sslmode=disable`;
    const answers = (sourceUrl: string, primary: readonly string[]) => [
      'wizard',
      '',
      'full+incremental',
      ...['url', sourceUrl, SUPERUSER_PASSWORD, 'env', 'DTS_SOURCE_PASSWORD'],
      ...['all', ''],
      ...primary,
      ...['url', `${servers.target.url('wizard')}?sslmode=disable`, ''],
    ];
    const wizard = (prompts: ReturnType<typeof scriptedPrompts>['prompts']) =>
      runWizard(prompts, { env: {}, cwd: tmpdir(), output: 'wizard.yaml', force: false });

    // An empty password for the primary: the standby's own entry (the same roles).
    const fromStandby = scriptedPrompts(answers(standbyUrl, ['url', primaryUrl, '']));
    const standbyTask = (await wizard(fromStandby.prompts)).task;
    expect(fromStandby.left()).toBe(0);
    expect(fromStandby.asked).toContain(
      'say: The source is a standby (in recovery): dts creates the publication on its primary and asks the primary for a snapshot record so the slot on the standby is made at once.',
    );
    expect(fromStandby.asked).toContain('How do you reach the primary server?');
    expect(standbyTask.source).toEqual({
      url: standbyUrl,
      password: '${DTS_SOURCE_PASSWORD}',
      primary: { url: primaryUrl, password: '${DTS_SOURCE_PASSWORD}' },
    });

    const fromPrimary = scriptedPrompts(answers(primaryUrl, []));
    const primaryTask = (await wizard(fromPrimary.prompts)).task;
    expect(fromPrimary.left()).toBe(0);
    expect(fromPrimary.asked.filter((q) => /primary|standby/.test(q))).toEqual([]);
    expect(primaryTask.source).toEqual({ url: primaryUrl, password: '${DTS_SOURCE_PASSWORD}' });
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
