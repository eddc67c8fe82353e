import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { digest } from '../integration/copy/helpers.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { env, startRun, statusUntil, taskFile } from '../integration/state/helpers.js';
import { client } from '../integration/sync/helpers.js';

/*
 * Bursts of ~10,000 small transactions a second on the source while `dts run` (full+incremental) applies
 * them: the runner's memory stays bounded and every transaction lands in order.
 *
 * Each transaction bumps its writer's counter row and appends a log row carrying the new counter value, so
 * after `dts complete` the target must equal the source row for row, and each writer's log must be gapless
 * (1..counter) and hold every transaction sent.
 *
 * Why 400 MB: the runner sits near 95 MB when sync starts and plateaus at 210 to 235 MB under the
 * bursts, whether there is one burst or four (measured on a shared 2-core machine: 211 MB after one, 214 MB
 * after three, 233 MB after four), so its memory does not grow with the volume applied. A runner that
 * held the backlog instead would grow with every burst: the four bursts carry 120,000 rows of 1,000
 * characters, 120 MB of text that would be held at least twice (the protocol's buffers and the decoded
 * values), which on top of the plateau passes 400 MB. The margin above the plateau is the garbage
 * collector's slack.
 */

const WRITERS = 4;
/** Transactions sent in one simple-query round trip (BEGIN; ...; COMMIT; repeated): client-side pipelining. */
const PER_ROUND_TRIP = 50;
/** Each burst sends this many transactions as fast as the source takes them (about 3 s at 10,000 tx/s). */
const PER_BURST = 30_000;
const BURSTS = 4;
const PAUSE_MS = 1500;
/** Characters of payload per log row. */
const PAYLOAD = 1000;
const RSS_CEILING_MB = 400;

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-bursts-'));

beforeAll(async () => {
  [source, target] = await Promise.all([
    // synchronous_commit off on the source: the point is the rate dts must absorb, not the source's fsyncs.
    startServer({ version: 17, settings: { synchronous_commit: 'off' } }),
    startServer({ version: 17 }),
  ]);
  await source.query(`CREATE DATABASE bursts`);
  await source.query(
    `CREATE TABLE counters (writer int PRIMARY KEY, n int NOT NULL);
     INSERT INTO counters SELECT g, 0 FROM generate_series(1, ${WRITERS}) g;
     CREATE TABLE log (writer int NOT NULL, n int NOT NULL, payload text NOT NULL, PRIMARY KEY (writer, n));
     CREATE TABLE filler (id int PRIMARY KEY, v text);
     INSERT INTO filler SELECT g, md5(g::text) FROM generate_series(1, 20000) g`,
    [],
    'bursts',
  );
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

function round(writer: number): string {
  const tx = `BEGIN;
UPDATE counters SET n = n + 1 WHERE writer = ${writer};
INSERT INTO log SELECT writer, n, rpad(md5(n::text), ${PAYLOAD}, md5(writer::text)) FROM counters WHERE writer = ${writer};
COMMIT;
`;
  return tx.repeat(PER_ROUND_TRIP);
}

/** One writer sending `count` transactions in round trips back to back. */
async function burst(c: pg.Client, writer: number, count: number): Promise<void> {
  const sql = round(writer);
  for (let n = 0; n < count; n += PER_ROUND_TRIP) await c.query(sql);
}

/** The process's peak resident set so far (VmHWM), in MB; undefined once it has exited. */
function peakRssMb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

describe('bursts of small transactions during sync', () => {
  it('~10k tx/s bursts: memory bounded, every transaction applied in order', async () => {
    const file = taskFile(dir, source, target, 'bursts', 'bursts', 'bursts', 'full+incremental');
    const run = startRun([file], { ...env, DTS_SYNC_PROGRESS_MS: '1000' });
    const pid = run.child.pid!;
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, peakRssMb(pid) ?? 0)), 200);
    const clients: pg.Client[] = [];
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      const atSync = peakRssMb(pid) ?? 0;
      for (let w = 1; w <= WRITERS; w++) {
        clients.push(await client(source, 'bursts'));
      }
      const rates: number[] = [];
      for (let b = 0; b < BURSTS; b++) {
        const started = Date.now();
        await Promise.all(clients.map((c, i) => burst(c, i + 1, PER_BURST / WRITERS)));
        rates.push(Math.round(PER_BURST / ((Date.now() - started) / 1000)));
        await new Promise((r) => setTimeout(r, PAUSE_MS));
      }
      const c = await runDts(['complete', file], { env });
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.code).toBe(0);
      console.log(
        `bursts: ${BURSTS} x ${PER_BURST} transactions (${WRITERS} writers, ${PER_ROUND_TRIP} a round trip, ` +
          `${PAYLOAD}-character rows); source rates ${rates.join(', ')} tx/s; ` +
          `dts peak RSS ${peak.toFixed(0)} MB (${atSync.toFixed(0)} MB when sync started)`,
      );
    } finally {
      clearInterval(poll);
      await Promise.all(clients.map((c) => c.end()));
      run.child.kill('SIGKILL');
    }
    for (const t of ['counters', 'log'])
      expect(`${t} ${await digest(target, 'bursts', t)}`).toBe(`${t} ${await digest(source, 'bursts', t)}`);
    const gaps = await target.query(
      `SELECT c.writer, c.n, count(l.n)::int AS logged, max(l.n) AS top
       FROM counters c LEFT JOIN log l USING (writer) GROUP BY c.writer, c.n
       HAVING count(l.n) <> c.n OR max(l.n) <> c.n`,
      [],
      'bursts',
    );
    expect(gaps.rows).toEqual([]);
    const logged = await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM log`, [], 'bursts');
    expect(logged.rows[0]!.n).toBe(BURSTS * PER_BURST);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(RSS_CEILING_MB);
  });
});
