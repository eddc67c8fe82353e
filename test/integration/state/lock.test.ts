import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRunnerLock, cancelRequested, runnerLockHolders } from '../../../src/state/lock.js';
import * as sql from '../../../src/state/sql.js';
import { status } from '../../../src/state/status.js';
import { ensureState, recordTask } from '../../../src/state/store.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { openSession, startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { fullTask } from '../copy/helpers.js';

let target: TestServer;
process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;

beforeAll(async () => {
  target = await startServer({ version: 17 });
  await target.query('CREATE DATABASE app');
});

afterAll(async () => {
  await target?.stop();
});

async function client(database: string): Promise<pg.Client> {
  const c = await openSession(target, database);
  return c;
}

describe('the runner lock', () => {
  it('one runner per task: a second is refused with who holds it; released, it can be taken again', async () => {
    const task = fullTask(target, 'app', target, 'app', {}, 'shop');
    const c = await client('app');
    await ensureState(c);
    await recordTask(c, 'shop', 'full', 'copy');
    const first = await acquireRunnerLock(task);
    try {
      expect(first.state?.phase).toBe('copy');
      const holders = await runnerLockHolders(c, 'shop');
      expect(holders).toEqual([{ backendPid: first.info.backendPid, database: 'app' }]);
      await expect(acquireRunnerLock(task)).rejects.toMatchObject({
        code: 'already-running',
        exitCode: 5,
        message: `task shop is already running (pid ${process.pid} on host ${hostname()} since ${first.info.startedAt.toISOString()})`,
      });
      // Another task on the same target is not blocked.
      const other = await acquireRunnerLock(fullTask(target, 'app', target, 'app', {}, 'other'));
      await other.release();
      const s = await status(task);
      expect(s).toMatchObject({ condition: 'running', runner: { alive: true, pid: process.pid } });
    } finally {
      await first.release();
    }
    expect(await runnerLockHolders(c, 'shop')).toEqual([]);
    const again = await acquireRunnerLock(task);
    await again.release();
    await c.end();
  });

  it('a holder in another database of the instance also refuses (the first run locks before its database exists)', async () => {
    const task = fullTask(target, 'app', target, 'app', {}, 'cross');
    const elsewhere = await client('postgres');
    await elsewhere.query(sql.TRY_LOCK, [sql.LOCK_SPACE, sql.runnerLockName('cross')]);
    await expect(acquireRunnerLock(task)).rejects.toMatchObject({
      code: 'already-running',
      message: expect.stringMatching(
        /^task cross is already running \(its runner holds the lock on the target: server process \d+\)$/,
      ),
    });
    await elsewhere.end();
    const lock = await acquireRunnerLock(task);
    await lock.release();
  });

  it('sees a cancel request: the cancel key held by any session', async () => {
    const task = fullTask(target, 'app', target, 'app', {}, 'stopme');
    const lock = await acquireRunnerLock(task);
    const c = await client('postgres');
    try {
      expect(await lock.cancelRequested()).toBe(false);
      await c.query(sql.TRY_LOCK, [sql.LOCK_SPACE, sql.cancelLockName('stopme')]);
      expect(await lock.cancelRequested()).toBe(true);
      expect(await cancelRequested(c, 'shop')).toBe(false);
    } finally {
      await c.end();
      await lock.release();
    }
  });

  it('status never writes: it works for a role that may only read _dts', async () => {
    await target.query(
      `CREATE ROLE watcher LOGIN PASSWORD '${SUPERUSER_PASSWORD}';
       GRANT USAGE ON SCHEMA _dts TO watcher; GRANT SELECT ON ALL TABLES IN SCHEMA _dts TO watcher`,
      [],
      'app',
    );
    const task = fullTask(target, 'app', target, 'app', {}, 'shop');
    const s = await status({ ...task, target: { ...task.target, user: 'watcher' } });
    expect(s).toMatchObject({
      task: 'shop',
      phase: 'copy',
      condition: 'interrupted',
      runner: { alive: false },
    });
  });
  it('its session lost: taken again when nobody else holds it; refused (taken) when another runner took it meanwhile', async () => {
    const task = fullTask(target, 'app', target, 'app', {}, 'lost');
    const c = await client('app');
    await ensureState(c);
    await recordTask(c, 'lost', 'full+incremental', 'syncing');
    const lock = await acquireRunnerLock(task);
    try {
      await c.query('SELECT pg_catalog.pg_terminate_backend($1)', [lock.info.backendPid]);
      await expect(lock.cancelRequested()).rejects.toThrow();
      expect(await lock.retake()).toEqual({ outcome: 'retaken' });
      expect(lock.retakes).toBe(1);
      const [holder] = await runnerLockHolders(c, 'lost');
      expect(holder!.backendPid).not.toBe(lock.info.backendPid);
      // The runner record names the new server process, so status trusts it.
      expect(await status(task)).toMatchObject({ condition: 'running', runner: { pid: process.pid } });
      expect(await lock.cancelRequested()).toBe(false);

      // Lost again, and another runner takes the lock before this one reconnects.
      await c.query('SELECT pg_catalog.pg_terminate_backend($1)', [holder!.backendPid]);
      const other = await client('app');
      await other.query(sql.TRY_LOCK, [sql.LOCK_SPACE, sql.runnerLockName('lost')]);
      const r = await lock.retake({ giveUpAfterMs: 5_000 });
      expect(r.outcome).toBe('taken');
      expect(r.outcome === 'taken' && r.error).toMatchObject({ code: 'already-running', exitCode: 5 });
      await other.end();
    } finally {
      await lock.release();
      await c.end();
    }
  });
});
