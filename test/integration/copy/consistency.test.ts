import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullLoad } from '../../../src/copy/index.js';
import { DtsError } from '../../../src/errors.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { fullTask } from './helpers.js';

/**
 * The load must equal the source as of ONE instant while the source keeps changing. The workload below
 * runs numbered transactions one after another; transaction k updates two rows spread over the whole
 * table, inserts row N+k, deletes row N+k-20 and records k in `journal`. So the state after exactly K
 * transactions is known in advance (`expected(K)`), and a target that mixes two instants (a range or a
 * table copied under a different snapshot) matches no K.
 */
const N = 40_000;
const KEEP = 20;

let source: TestServer;
let target: TestServer;

const hit = (k: number) => [((k * 7919) % N) + 1, ((k * 104_729 + N / 2) % N) + 1];

function expected(K: number): Map<number, number> {
  const v = new Map<number, number>();
  for (let id = 1; id <= N; id++) v.set(id, 0);
  for (let k = 1; k <= K; k++) {
    for (const id of hit(k)) v.set(id, v.get(id)! + 1);
    v.set(N + k, k);
    if (k > KEEP) v.delete(N + k - KEEP);
  }
  return v;
}

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query('CREATE DATABASE ledger');
  await target.query('CREATE DATABASE ledger');
  await source.query(
    `CREATE TABLE ledger (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL);
     CREATE TABLE journal (k int PRIMARY KEY);
     INSERT INTO ledger SELECT g, 0, repeat('x', 200) FROM generate_series(1, ${N}) g;`,
    [],
    'ledger',
  );
  await source.query('VACUUM ANALYZE ledger', [], 'ledger');
});

afterAll(async () => {
  await Promise.all([source, target].filter(Boolean).map((s) => s.stop()));
});

describe('consistency under concurrent writes (PostgreSQL 14 -> 17)', () => {
  it('copies the source as of exactly one transaction boundary, across tables and ranges', async () => {
    const client = new pg.Client({
      host: source.host,
      port: source.port,
      user: 'postgres',
      password: SUPERUSER_PASSWORD,
      database: 'ledger',
    });
    await client.connect();
    let committed = 0;
    // Sent, maybe not yet acknowledged: a commit can be in a snapshot before its reply reaches this process.
    let sent = 0;
    let stop = false;
    const workload = (async () => {
      // Invariant: `committed` is k exactly when transaction k has committed (one connection, in order).
      for (let k = 1; !stop; k++) {
        const [a, b] = hit(k);
        sent = k;
        await client.query(
          `BEGIN;
           UPDATE ledger SET v = v + 1 WHERE id = ${a};
           UPDATE ledger SET v = v + 1 WHERE id = ${b};
           INSERT INTO ledger VALUES (${N + k}, ${k}, repeat('y', 200));
           ${k > KEEP ? `DELETE FROM ledger WHERE id = ${N + k - KEEP};` : ''}
           INSERT INTO journal VALUES (${k});
           COMMIT`,
        );
        committed = k;
      }
    })();
    try {
      while (committed < 50) await new Promise((r) => setTimeout(r, 10));
      const before = committed;
      let atSnapshot = 0;
      let atCopyEnd = 0;
      const report = await runFullLoad(
        fullTask(source, 'ledger', target, 'ledger', { splitTableBytes: 64 * 1024, parallel: 2 }, 'ledger'),
        {
          onEvent: (e) => {
            if (e.type === 'snapshot') atSnapshot = sent;
            if (e.type === 'phase' && e.phase === 'sequences') atCopyEnd = committed;
          },
        },
      );
      const ledger = report.databases[0]!.tables.find((t) => t.name === 'ledger')!;
      expect(ledger.parts).toBeGreaterThan(10);

      const K = Number((await target.query(`SELECT max(k) AS k FROM journal`, [], 'ledger')).rows[0]!.k);
      // The snapshot lies between the load's start and the moment the slot reported it (by then no
      // transaction after the last one sent can be in it).
      expect(K).toBeGreaterThanOrEqual(before);
      expect(K).toBeLessThanOrEqual(atSnapshot);
      // The workload kept committing while the ranges were copied, so a second snapshot would show.
      expect(atCopyEnd).toBeGreaterThan(K + 20);
      const journal = await target.query(`SELECT count(*)::int AS n FROM journal`, [], 'ledger');
      expect(journal.rows[0]!.n).toBe(K);

      const rows = await target.query<{ id: string; v: number }>(
        `SELECT id, v FROM ledger ORDER BY id`,
        [],
        'ledger',
      );
      const actual = new Map(rows.rows.map((r) => [Number(r.id), r.v]));
      const want = expected(K);
      expect(actual.size).toBe(want.size);
      const wrong = [...want].filter(([id, v]) => actual.get(id) !== v).slice(0, 5);
      expect(wrong).toEqual([]);
      // Last: a mixed copy usually also breaks the primary key that post-data builds.
      expect(report.ok).toBe(true);
    } finally {
      stop = true;
      await workload;
      await client.end();
    }
  });

  it('an abort stops the copy, closes every connection and leaves no slot behind', async () => {
    await target.query('CREATE DATABASE aborted');
    const controller = new AbortController();
    const load = runFullLoad(
      fullTask(source, 'ledger', target, 'aborted', { splitTableBytes: 8192, parallel: 2 }, 'aborted'),
      {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'unit-done') controller.abort();
        },
      },
    );
    await expect(load).rejects.toThrow(DtsError);
    await expect(load).rejects.toMatchObject({ code: 'interrupted' });
    const sessions = async (s: TestServer) =>
      (
        await s.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dts' AND pid <> pg_backend_pid()`,
        )
      ).rows[0]!.n;
    // Backends end a moment after their client hung up.
    for (let i = 0; i < 50 && ((await sessions(source)) > 0 || (await sessions(target)) > 0); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await sessions(source)).toBe(0);
    expect(await sessions(target)).toBe(0);
    expect((await source.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
    const state = await target.query(`SELECT phase FROM _dts.tasks WHERE task = 'aborted'`, [], 'aborted');
    expect(state.rows).toEqual([{ phase: 'interrupted' }]);
  });
});
