import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { SUPERUSER_PASSWORD, startServer, type TestServer } from '../harness/pg-server.js';
import { startProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { TRANSFERS_DDL, transferSql, writeUntilStopped } from '../harness/transfers.js';
import { env, startRun, statusUntil, type Background } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
let toSource: TcpProxy;
let toTarget: TcpProxy;
const dir = mkdtempSync(join(tmpdir(), 'dts-faults-e2e-'));
const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '500' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The transfers, and an items table that also takes inserts and deletes. */
const DDL = `${TRANSFERS_DDL}
CREATE TABLE items (id serial PRIMARY KEY, v text);
INSERT INTO items (v) SELECT md5(g::text) FROM generate_series(1, 3000) g;
`;

/** Writers on the source (directly, not through the proxy): transfers, and an insert (and a delete) of items. */
const faultsWorkload = (w: number, i: number) =>
  transferSql(
    w,
    i,
    ` INSERT INTO items (v) VALUES ('w${w}-${i}');${i % 5 === 0 ? ` DELETE FROM items WHERE id = ${(i % 3000) + 1};` : ''}`,
  );

function taskThroughProxies(name: string, database: string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `name: ${name}
mode: full+incremental
source:
  url: postgresql://postgres@${toSource.host}:${toSource.port}/${database}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: postgresql://postgres@${toTarget.host}:${toTarget.port}/${database}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
`,
  );
  return f;
}

/** Transactions applied so far, as recorded on the target (with the applied position). */
async function transactionsApplied(database: string): Promise<number> {
  const { rows } = await target.query<{ n: string }>(
    `SELECT coalesce(sum(transactions), 0)::text AS n FROM _dts.apply_position`,
    [],
    database,
  );
  return Number(rows[0]!.n);
}

/** Poll until `ok` (at most two minutes). */
async function until(ok: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(200);
  }
}

/** Until the runner says it syncs again; a runner that ends first fails the test with what it printed. */
async function syncing(run: Background): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!run.stderr().includes('resuming sync')) {
    if (run.child.exitCode !== null || Date.now() > deadline) {
      const ended = await Promise.race([run.exited, sleep(1000).then(() => undefined)]);
      throw new Error(`the resumed run did not sync:\n${ended?.stdout ?? ''}\n${run.stderr()}`);
    }
    await sleep(200);
  }
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  [toSource, toTarget] = await Promise.all([startProxy(source), startProxy(target)]);
  await source.query(`CREATE DATABASE links`);
  await source.query(DDL, [], 'links');
});

afterAll(async () => {
  await Promise.all([toSource?.stop(), toTarget?.stop()]);
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('faults during sync, through a TCP proxy that cuts the links', () => {
  it('links to the source and to the target cut and restored under a live workload: then complete, equal, no duplicates', async () => {
    const file = taskThroughProxies('links', 'links');
    let run: Background = startRun([file], runEnv);
    const runs: Background[] = [run];
    let writes: ReturnType<typeof writeUntilStopped> | undefined;
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      writes = writeUntilStopped(source, 'links', { writers: 3, reconnect: false, sql: faultsWorkload });
      await sleep(1500);

      // The source link: replication and every other session to the source drop; new ones are refused
      // for two seconds. The runner retries and goes on.
      expect(toSource.cut()).toBeGreaterThan(0);
      toSource.refuse(true);
      await sleep(2000);
      toSource.refuse(false);
      // Applying goes on: the count grows (waited for, not timed: the runner's retry may take a while).
      const before = await transactionsApplied('links');
      await until(async () => (await transactionsApplied('links')) > before);
      expect(run.child.exitCode).toBe(null);

      // The target link: the applier's, the state's and the runner lock's sessions drop. The runner
      // reconnects, takes its lock again (nobody else holds it) and goes on applying.
      expect(toTarget.cut()).toBeGreaterThan(0);
      toTarget.refuse(true);
      await sleep(2000);
      toTarget.refuse(false);
      await until(() => run.stderr().includes('links: took the runner lock again (reconnect 1); going on'));
      expect(run.stderr()).toContain(
        'links: lost the connection that holds the runner lock on the target; reconnecting',
      );
      const applied = await transactionsApplied('links');
      await until(async () => (await transactionsApplied('links')) > applied);
      expect(run.child.exitCode).toBe(null);
      const s = await statusUntil(file, (x) => x.condition === 'running', 30_000);
      expect((s.databases as { sync: { reconnects: number } }[])[0]!.sync.reconnects).toBeGreaterThan(0);

      // Killed right after a cut, then resumed with its checks: its own slot, publication and `_dts` are
      // not findings, and the previous runner's walsender going away is waited for.
      toTarget.cut();
      toSource.cut();
      run.child.kill('SIGKILL');
      await run.exited;
      run = startRun([file], runEnv);
      runs.push(run);
      await syncing(run);
      // The source link again, twice in quick succession (a reconnect that is cut again).
      for (let i = 0; i < 2; i++) {
        toSource.cut();
        await sleep(700);
      }
      await sleep(2000);
      const transactions = await writes.stop();
      writes = undefined;
      expect(transactions).toBeGreaterThan(50);
      const c = await runDts(['complete', file], { env });
      expect(run.stderr().slice(-2000)).not.toMatch(/^error:/m);
      expect(c.stderr, `the runner said:\n${run.stderr().slice(-3000)}`).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.stderr).not.toMatch(/^error:/m);
      expect(ended.code).toBe(0);
      console.log(
        `links: ${transactions} source transactions, ${toSource.opened} source and ${toTarget.opened} target connections, ${runs.length} run(s)`,
      );
    } finally {
      await writes?.stop();
      for (const r of runs) r.child.kill('SIGKILL');
    }
    const result = await compareDatabases(source, 'links', target, 'links');
    expect(result.differences).toEqual([]);
    const sums = await target.query(`SELECT sum(balance)::int AS s FROM accounts`, [], 'links');
    expect(sums.rows[0]).toEqual({ s: 50_000 });
  }, 400_000);

  it('a permission error on the target during apply stops the run with a clear error; after GRANT the run resumes: equal', async () => {
    // A target role that is not a superuser (REVOKE does not bind superusers); it owns what dts creates.
    await target.query(`CREATE ROLE mover LOGIN CREATEDB PASSWORD '${SUPERUSER_PASSWORD}'`);
    await target.query(`GRANT SET ON PARAMETER session_replication_role TO mover`);
    await source.query(`CREATE DATABASE perms`);
    await source.query(
      `CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, 'v' FROM generate_series(1, 100) g`,
      [],
      'perms',
    );
    const file = join(dir, 'perms.yaml');
    writeFileSync(
      file,
      `name: perms
mode: full+incremental
source:
  url: ${source.url('perms')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: postgresql://mover@${target.host}:${target.port}/perms
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
options:
  roleMap: { postgres: mover }
`,
    );
    const first = startRun(['--no-validate', file], runEnv);
    const runs = [first];
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      await target.query(`REVOKE INSERT, UPDATE ON items FROM mover`, [], 'perms');
      await source.query(`INSERT INTO items VALUES (1000, 'after revoke')`, [], 'perms');
      await source.query(`UPDATE items SET v = 'changed' WHERE id < 10`, [], 'perms');
      const ended = await first.exited;
      expect(ended.stderr).toContain(
        'error: target: applying a change failed: permission denied for table items (SQLSTATE 42501)\n' +
          'hint: grant the target role that privilege, then run dts again: it resumes after the last applied transaction (nothing after it was applied)\n',
      );
      expect(ended.stderr).not.toMatch(/\n\s+at /);
      expect(ended.code).toBe(4);
      const s = await runDts(['status', file], { env });
      expect(s.code).toBe(0);
      expect(s.stdout).toContain(
        `task perms (mode full+incremental): interrupted (no runner); run \`dts run ${file}\` to resume`,
      );
      // The error that stopped the runner stays in `_dts` for status to show.
      expect(s.stdout).toMatch(
        /\n {2}stopped by an error at \S+: target: applying a change failed: permission denied for table items \(SQLSTATE 42501\)\n {2}hint: grant the target role that privilege, then run dts again/,
      );
      const sj = await runDts(['status', '--json', file], { env });
      expect(JSON.parse(sj.stdout).lastError).toMatchObject({
        message: 'target: applying a change failed: permission denied for table items',
        sqlstate: '42501',
      });
      // Nothing after the last applied transaction was applied: the rows are as before the REVOKE.
      const partial = await target.query(`SELECT count(*)::int AS n FROM items`, [], 'perms');
      expect(partial.rows[0]).toEqual({ n: 100 });

      await target.query(`GRANT INSERT, UPDATE ON items TO mover`, [], 'perms');
      const second = startRun(['--no-validate', file], runEnv);
      runs.push(second);
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 60_000);
      // Streaming again: the recorded error is cleared.
      await until(async () => {
        const r = await target.query(`SELECT last_error FROM _dts.tasks WHERE task = 'perms'`, [], 'perms');
        return r.rows[0]?.last_error === null;
      });
      const c = await runDts(['complete', file], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      expect((await second.exited).code).toBe(0);
    } finally {
      for (const r of runs) r.child.kill('SIGKILL');
    }
    const result = await compareDatabases(source, 'perms', target, 'perms');
    expect(result.differences).toEqual([]);
  }, 300_000);
});
