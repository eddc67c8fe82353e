import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { env, startRun, statusUntil, taskFile, type Background } from '../integration/state/helpers.js';

/**
 * The target's disk fills up during apply (issue #7): one migrated table lives in a tablespace on a small
 * tmpfs that a filler file fills. Sync reports the full disk in `dts status` and retries with backoff;
 * once the filler is removed it goes on, and the task completes with target == source.
 */
let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-disk-full-'));
const mnt = join(dir, 'small');
let mounted = false;

beforeAll(async () => {
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(
      `this test needs to mount a small tmpfs (run as root, as CI does): mount -t tmpfs -o size=8m tmpfs ${mnt} failed: ${String((e as { stderr?: unknown }).stderr ?? e)}`,
    );
  }
  mounted = true;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  // The postgres OS user must reach the tablespace directory (mkdtemp makes its directory 0700).
  chmodSync(dir, 0o755);
  chmodSync(mnt, 0o755);
  mkdirSync(join(mnt, 'ts'));
  chownSync(join(mnt, 'ts'), uid, gid);
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query(`CREATE DATABASE disk`);
  await source.query(
    `CREATE TABLE big (id int PRIMARY KEY, v text);
     INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
     CREATE TABLE small (id int PRIMARY KEY, v text);
     INSERT INTO small SELECT g, 'x' FROM generate_series(1, 10) g;`,
    [],
    'disk',
  );
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (mounted) execFileSync('umount', [mnt]);
  rmSync(dir, { recursive: true, force: true });
});

/** Fill the tmpfs with a file until the device is full. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

describe('the target disk fills up during apply', () => {
  it('status shows the full disk (SQLSTATE 53100) while sync retries; after space is freed sync goes on; complete; equal', async () => {
    const file = taskFile(dir, source, target, 'disk', 'disk', 'disk', 'full+incremental');
    const run: Background = startRun([file], { ...env, DTS_SYNC_PROGRESS_MS: '500' });
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      await target.query(`CREATE TABLESPACE small LOCATION '${join(mnt, 'ts')}'`);
      await target.query(`ALTER TABLE big SET TABLESPACE small`, [], 'disk');
      const filler = join(mnt, 'filler');
      fill(filler);

      // About 6 MB of new rows for the full tablespace, and a change of another table after them.
      await source.query(
        `INSERT INTO big SELECT g, repeat(md5(g::text), 60) FROM generate_series(1001, 4000) g`,
        [],
        'disk',
      );
      await source.query(`UPDATE small SET v = 'after' WHERE id = 1`, [], 'disk');
      const s = await statusUntil(
        file,
        (x) => /target disk full/.test(x.databases[0]?.sync?.lastError ?? ''),
        120_000,
      );
      expect(s.condition).toBe('running');
      expect(s.databases[0].sync.lastError).toMatch(
        /^target disk full: could not extend file .*No space left on device.* \(SQLSTATE 53100\); free space on the target \(or move the table to another tablespace\): sync retries and goes on$/,
      );
      const plain = await runDts(['status', file], { env });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain('target disk full: could not extend file');
      expect(plain.stdout).toContain('sync retries and goes on');
      // Nothing of the refused transaction (or after it) is on the target meanwhile.
      const partial = await target.query(`SELECT count(*)::int AS n FROM big`, [], 'disk');
      expect(partial.rows[0]).toEqual({ n: 1000 });
      expect(run.child.exitCode).toBe(null);

      rmSync(filler);
      await statusUntil(
        file,
        (x) => x.databases[0]?.sync?.state === 'streaming' && x.databases[0].sync.caughtUp,
        120_000,
      );
      const c = await runDts(['complete', file], { env });
      expect(c.stderr, `the runner said:\n${run.stderr().slice(-3000)}`).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      expect((await run.exited).code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
    const result = await compareDatabases(source, 'disk', target, 'disk');
    expect(result.differences).toEqual([]);
  });
});
