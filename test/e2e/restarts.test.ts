import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { TRANSFERS_DDL, writeUntilStopped } from '../harness/transfers.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { env, startRun, statusUntil, taskFile, type Background } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-restarts-e2e-'));
const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '500' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Transactions applied so far, as recorded on the target; undefined while the target is down. */
async function transactionsApplied(database: string): Promise<number | undefined> {
  try {
    const { rows } = await target.query<{ n: string }>(
      `SELECT coalesce(sum(transactions), 0)::text AS n FROM _dts.apply_position`,
      [],
      database,
    );
    return Number(rows[0]!.n);
  } catch {
    return undefined;
  }
}

async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Wait until the runner applied more than it had now. */
async function applyingAgain(database: string): Promise<void> {
  let before: number | undefined;
  await until(async () => (before = await transactionsApplied(database)) !== undefined, 'the target');
  await until(async () => ((await transactionsApplied(database)) ?? 0) > before!, 'apply to go on');
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query(`CREATE DATABASE restarts`);
  await source.query(TRANSFERS_DDL, [], 'restarts');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('servers restarted during sync, through the CLI', () => {
  it('the target and then the source restart under a live workload: the same runner rides both out; complete; equal, no duplicates', async () => {
    const file = taskFile(dir, source, target, 'restarts', 'restarts', 'restarts', 'full+incremental');
    const run: Background = startRun([file], runEnv);
    let writes: ReturnType<typeof writeUntilStopped> | undefined;
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      writes = writeUntilStopped(source, 'restarts', { writers: 2, reconnect: true });
      await applyingAgain('restarts');

      // The target: every session of the runner (apply, state, runner lock) is terminated.
      await target.restart('fast');
      await until(
        () => run.stderr().includes('restarts: took the runner lock again (reconnect 1); going on'),
        'the runner to take its lock again',
      );
      await applyingAgain('restarts');
      expect(run.child.exitCode).toBe(null);

      // The source: the stream and the workload's sessions are terminated.
      await source.restart('fast');
      await applyingAgain('restarts');
      expect(run.child.exitCode).toBe(null);

      const s = await statusUntil(file, (x) => x.condition === 'running', 30_000);
      expect(s.databases[0].sync.reconnects).toBeGreaterThanOrEqual(2);

      const transactions = await writes.stop();
      writes = undefined;
      expect(transactions).toBeGreaterThan(50);
      const c = await runDts(['complete', file], { env });
      expect(c.stderr, `the runner said:\n${run.stderr().slice(-3000)}`).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.stderr).not.toMatch(/^error:/m);
      expect(ended.code).toBe(0);
      console.log(`restarts: ${transactions} source transactions applied through two restarts`);
    } finally {
      await writes?.stop();
      run.child.kill('SIGKILL');
    }
    const result = await compareDatabases(source, 'restarts', target, 'restarts');
    expect(result.differences).toEqual([]);
    const sums = await target.query(`SELECT sum(balance)::int AS s FROM accounts`, [], 'restarts');
    expect(sums.rows[0]).toEqual({ s: 50_000 });
    // No transaction applied twice: every (writer, seq) once on the target, as on the source.
    const dup = await target.query(
      `SELECT count(*)::int AS n FROM (SELECT writer, seq FROM log GROUP BY 1, 2 HAVING count(*) > 1) d`,
      [],
      'restarts',
    );
    expect(dup.rows[0]).toEqual({ n: 0 });
  }, 400_000);
});
