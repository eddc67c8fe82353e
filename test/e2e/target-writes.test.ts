import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { openSession, startServer, type TestServer } from '../harness/pg-server.js';
import { digest } from '../integration/copy/helpers.js';
import { env, startRun, statusUntil, taskFile } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-target-writes-e2e-'));
const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '500' };
const WATCH_TRIGGERS = `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'dts_target_writes%'`;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query(`CREATE DATABASE shop`);
  await source.query(
    `CREATE TABLE items (id serial PRIMARY KEY, v text);
     INSERT INTO items (v) SELECT md5(g::text) FROM generate_series(1, 500) g;
     CREATE TABLE notes (id int PRIMARY KEY, body text);
     INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 50) g`,
    [],
    'shop',
  );
  // Someone else's application, with rights on the migrated tables once they exist.
  await target.query(`CREATE ROLE app LOGIN PASSWORD 'app-secret'`);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

/** SQL on the target as the role `app`, under an application name, in one transaction. */
async function asApp(sql: string): Promise<void> {
  const c = new pg.Client({
    host: target.host,
    port: target.port,
    database: 'shop',
    user: 'app',
    password: 'app-secret',
    application_name: 'billing',
  });
  await c.connect();
  try {
    await c.query(`BEGIN; ${sql}; COMMIT`);
  } finally {
    await c.end();
  }
}

describe('writes to the target by others during sync (14 -> 17, built CLI)', () => {
  it('are not recorded for dts itself, are shown by status, validate and complete, and the watch goes at cutover', async () => {
    const file = taskFile(dir, source, target, 'watched', 'shop', 'shop', 'full+incremental');
    const run = startRun([file], runEnv);
    try {
      // The phase says syncing from the end of the copy; sync figures appear once the watch is in place.
      await statusUntil(
        file,
        (x) => x.condition === 'running' && x.phase === 'syncing' && x.databases?.[0]?.sync !== undefined,
        120_000,
      );
      // Every copied table is watched, in the target database.
      expect((await target.query<{ n: number }>(WATCH_TRIGGERS, [], 'shop')).rows).toEqual([{ n: 4 }]);

      // dts's own apply is not someone else's write.
      const session = await openSession(source, 'shop');
      try {
        for (let i = 0; i < 20; i++)
          await session.query(
            `INSERT INTO items (v) VALUES ('s${i}'); UPDATE notes SET body = body || '!' WHERE id = ${i + 1};
           DELETE FROM items WHERE id = ${i + 1}`,
          );
      } finally {
        await session.end();
      }
      const synced = await statusUntil(
        file,
        (x) => x.databases?.[0]?.sync?.transactions >= 20 && x.databases[0].sync.lagBytes === 0,
        60_000,
      );
      expect(synced.targetWrites).toEqual([]);

      await target.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON items TO app`, [], 'shop');
      // The target's sequences are only set at the cutover: explicit keys, as a careless script would.
      await asApp(
        `INSERT INTO items VALUES (100001, 'a1'), (100002, 'a2'); UPDATE items SET v = 'x' WHERE id = 30`,
      );
      await asApp(`INSERT INTO items VALUES (100003, 'a3')`);

      const shown = await statusUntil(file, (x) => x.targetWrites?.length === 2, 30_000);
      expect(shown.targetWrites).toMatchObject([
        { database: 'shop', table: 'public.items', operation: 'INSERT', transactions: 2, lastRole: 'app' },
        { database: 'shop', table: 'public.items', operation: 'UPDATE', transactions: 1, lastRole: 'app' },
      ]);
      const text = await runDts(['status', file], { env });
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(
        '\n  warning: the target was written by others while dts syncs; stop those writers until `dts complete` (`dts verify` shows the differences):\n',
      );
      expect(text.stdout).toMatch(
        /\n {4}shop: public\.items: 2 INSERT, 1 UPDATE transaction\(s\), the last at \d{4}-\d\d-\d\dT[\d:.]+Z by app \(billing\)\n/,
      );

      const checked = await runDts(['validate', file, '--json'], { env });
      const finding = JSON.parse(checked.stdout).results.find(
        (r: { id: string }) => r.id === 'target.writes_during_sync',
      ).findings;
      expect(finding).toEqual([
        {
          check: 'target.writes_during_sync',
          severity: 'warn',
          object: 'shop.public.items',
          message: expect.stringMatching(
            /^written on the target by others while the task syncs: 2 INSERT, 1 UPDATE transaction\(s\), the last at \S+ by app \(billing\); those rows may now differ from the source$/,
          ),
          fix: 'stop writing to the target until `dts complete`, then run `dts verify` to see which rows differ',
        },
      ]);

      const c = await runDts(['complete', file], { env });
      expect(c.code).toBe(0);
      expect(c.stdout).toContain(
        '  warning: the target was written by others while dts synced; it may differ from the source (`dts verify` shows where):\n',
      );
      expect((await run.exited).code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    // The watch is gone with the cutover: the target is the application's now.
    expect((await target.query<{ n: number }>(WATCH_TRIGGERS, [], 'shop')).rows).toEqual([{ n: 0 }]);
    expect(
      (await target.query(`SELECT 1 FROM pg_proc WHERE proname = 'note_target_write'`, [], 'shop')).rows,
    ).toEqual([]);
    // The three foreign rows are the difference, and nothing else: notes equals the source.
    expect(await digest(target, 'shop', 'public.notes')).toBe(await digest(source, 'shop', 'public.notes'));
    const extra = await target.query<{ v: string }>(
      `SELECT v FROM items WHERE v IN ('a1', 'a2', 'a3', 'x') ORDER BY v`,
      [],
      'shop',
    );
    expect(extra.rows.map((r) => r.v)).toEqual(['a1', 'a2', 'a3', 'x']);
  }, 300_000);
});
