import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { openSession, startServer, startStandby, type TestServer } from '../harness/pg-server.js';
import { env } from '../integration/state/helpers.js';

/** Servers and helpers of the standby-source tests (test/e2e/standby.test.ts, test/stress/standby.test.ts). */

/** The servers of the running file (set in beforeAll). */
export const servers = {} as { primary: TestServer; standby: TestServer; target: TestServer };
const dir = mkdtempSync(join(tmpdir(), 'dts-standby-e2e-'));
export const runEnv = { ...env, DTS_SYNC_PROGRESS_MS: '1000' };

export function taskFile(
  name: string,
  mode: 'full' | 'full+incremental',
  targetDb: string,
  withPrimary: boolean,
): string {
  const f = join(dir, `${name}.yaml`);
  const primaryKeys = withPrimary
    ? `  primary:
    url: ${servers.primary.url('shop')}
    password: \${DTS_SOURCE_PASSWORD}
    sslmode: disable
`
    : '';
  writeFileSync(
    f,
    `name: ${name}
mode: ${mode}
source:
  url: ${servers.standby.url('shop')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
${primaryKeys}target:
  url: ${servers.target.url(targetDb)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
options:
  parallel: 2
`,
  );
  return f;
}

/** Small transactions on the primary (one session): inserts, updates and deletes on a keyed and a keyless table. */
export async function workload(rounds: number, base: number): Promise<void> {
  const c = await openSession(servers.primary, 'shop');
  try {
    for (let i = 0; i < rounds; i++) {
      const k = base + i;
      await c.query(
        `BEGIN;
         INSERT INTO items (v, n) VALUES (md5('${k}'), ${k});
         UPDATE items SET v = v || 'u' WHERE id = ${(k % 1000) + 1};
         DELETE FROM items WHERE id = ${((k * 7) % 1000) + 1};
         INSERT INTO events VALUES (${k}, 'w${k}');
         DELETE FROM events WHERE id = ${((k * 3) % 300) + 1};
         COMMIT`,
      );
    }
  } finally {
    await c.end();
  }
}

/** Wait until the standby has replayed everything the primary wrote so far. */
export async function caughtUp(): Promise<void> {
  const { rows } = await servers.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  for (;;) {
    const r = await servers.standby.query<{ done: boolean }>(
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
      [rows[0]!.lsn],
    );
    if (r.rows[0]!.done) return;
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function expectReleased(): Promise<void> {
  expect((await servers.standby.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
  expect(
    (await servers.primary.query(`SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical'`))
      .rows,
  ).toEqual([]);
  expect((await servers.primary.query(`SELECT pubname FROM pg_publication`, [], 'shop')).rows).toEqual([]);
}

/** Start a 17 primary with a `shop` database, its hot standby, and a 17 target, for the file's tests. */
export function useStandbyServers(): void {
  beforeAll(async () => {
    [servers.primary, servers.target] = await Promise.all([
      startServer({ version: 17 }),
      startServer({ version: 17 }),
    ]);
    await servers.primary.query('CREATE DATABASE shop');
    await servers.primary.query(
      `CREATE TABLE items (id serial PRIMARY KEY, v text, n int);
     INSERT INTO items (v, n) SELECT md5(g::text), g FROM generate_series(1, 1000) g;
     CREATE TABLE events (id int NOT NULL, note text);
     ALTER TABLE events REPLICA IDENTITY FULL;
     INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 300) g`,
      [],
      'shop',
    );
    servers.standby = await startStandby(servers.primary);
    await caughtUp();
  });

  afterAll(async () => {
    await servers.standby?.stop();
    await Promise.all([servers.primary?.stop(), servers.target?.stop()]);
  });
}
