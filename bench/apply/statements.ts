/**
 * What the target pays for each way of applying the same row changes (`npx tsx bench/apply/statements.ts`):
 * a PostgreSQL 17 server, pgbench-like `accounts` and `history`, and the same N updates by key, N inserts
 * and N deletes by key applied as multi-row statements (VALUES lists, and the one-array-per-column form
 * dts sends), as one row per statement (what a row-at-a-time applier does), and inserts as COPY. Prints
 * wall time and the target backend's CPU seconds (from /proc), so the figures hold on a busy machine.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { startServer, SUPERUSER_PASSWORD } from '../../test/harness/pg-server.js';
import { deleteValues, insertValues, tuple, updateValues, type MatchColumn } from '../../src/apply/sql.js';

const N = Number(process.argv[2] ?? 20_000);
const PER = Number(process.argv[3] ?? 2_000);

function cpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function main() {
  const server = await startServer({ version: 17 });
  try {
    await server.query(`CREATE DATABASE b`);
    await server.query(
      `CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
       INSERT INTO accounts SELECT g, 1, 0, '' FROM generate_series(1, 200000) g;
       CREATE TABLE history (hid bigint PRIMARY KEY, aid int NOT NULL, delta int NOT NULL, mtime timestamptz NOT NULL, filler char(22));
       INSERT INTO history SELECT g, g, 0, now() FROM generate_series(1, 100000) g;
       ANALYZE;`,
      [],
      'b',
    );
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user: 'postgres',
      database: 'b',
      password: SUPERUSER_PASSWORD,
    });
    await client.connect();
    const pid = Number((await client.query(`SELECT pg_backend_pid() AS p`)).rows[0].p);
    await client.query(`SET session_replication_role = replica`);
    const key: MatchColumn[] = [{ name: 'aid', nullSafe: false, asText: false, type: 'integer' }];
    const hkey: MatchColumn[] = [{ name: 'hid', nullSafe: false, asText: false, type: 'bigint' }];
    let nextHid = 1_000_000;
    let nextDel = 1;
    const rnd = () => String(1 + Math.floor(Math.random() * 200_000));
    const time = async (what: string, fn: () => Promise<void>) => {
      await client.query('BEGIN');
      const c0 = cpu(pid);
      const t0 = performance.now();
      await fn();
      await client.query('COMMIT');
      const ms = performance.now() - t0;
      const c = cpu(pid) - c0;
      console.log(
        `${what.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms  backend CPU ${c.toFixed(2)} s  ${((c / N) * 1e6).toFixed(1)} µs/row`,
      );
    };
    const distinct = () => {
      const seen = new Set<string>();
      const out: string[] = [];
      while (out.length < N) {
        const k = rnd();
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(k);
      }
      return out;
    };
    for (let round = 0; round < 2; round++) {
      console.log(`round ${round + 1}: ${N} rows, ${PER} per statement`);
      const keys = distinct();
      await time('UPDATE ... FROM (VALUES) multi-row literals', async () => {
        for (let i = 0; i < N; i += PER) {
          const rows = keys.slice(i, i + PER).map((k) => [k, String(i)]);
          await client.query(
            updateValues('public', 'accounts', key, [{ name: 'abalance', type: 'integer' }], rows),
          );
        }
      });
      await client.query(`SET enable_hashjoin = off`);
      await client.query(`SET enable_mergejoin = off`);
      await time('same, hash and merge joins off', async () => {
        for (let i = 0; i < N; i += PER) {
          const rows = keys.slice(i, i + PER).map((k) => [k, String(i + 1)]);
          await client.query(
            updateValues('public', 'accounts', key, [{ name: 'abalance', type: 'integer' }], rows),
          );
        }
      });
      // What the workload's updates carry: every non-key column (pgoutput sends the whole new row).
      const all = [
        { name: 'bid', type: 'integer' },
        { name: 'abalance', type: 'integer' },
        { name: 'filler', type: 'character(84)' },
      ];
      const filler = ' '.repeat(84);
      await time('same, every column set (bid, abalance, filler), VALUES', async () => {
        for (let i = 0; i < N; i += PER) {
          const rows = keys.slice(i, i + PER).map((k) => [k, '1', String(i + 2), filler]);
          await client.query(updateValues('public', 'accounts', key, all, rows));
        }
      });
      const arrayKey = key.map((k) => ({ ...k, arrayType: `${k.type}[]` }));
      const arrayAll = all.map((c) => ({ ...c, arrayType: `${c.type}[]` }));
      await time('same, one array per column, unnested (what dts runs)', async () => {
        for (let i = 0; i < N; i += PER) {
          const rows = keys.slice(i, i + PER).map((k) => [k, '1', String(i + 3), filler]);
          await client.query(updateValues('public', 'accounts', arrayKey, arrayAll, rows));
        }
      });
      await client.query(`RESET enable_hashjoin`);
      await client.query(`RESET enable_mergejoin`);
      await time('UPDATE one row per statement, many per round trip', async () => {
        for (let i = 0; i < N; i += PER) {
          const text = keys
            .slice(i, i + PER)
            .map((k) => `UPDATE accounts SET abalance = '${i + 2}' WHERE aid = '${k}'`)
            .join(';');
          await client.query(text);
        }
      });
      await time('UPDATE one row, prepared, one round trip each', async () => {
        for (const k of keys)
          await client.query({
            name: 'u',
            text: `UPDATE accounts SET abalance = $1 WHERE aid = $2`,
            values: ['3', k],
          });
      });
      const ins = () =>
        Array.from({ length: N }, () => [
          String(nextHid++),
          rnd(),
          '5',
          '2026-11-24 12:00:00.123456+00',
          null,
        ]);
      const cols = ['hid', 'aid', 'delta', 'mtime', 'filler'];
      await time('INSERT multi-row literals', async () => {
        const rows = ins();
        for (let i = 0; i < N; i += PER)
          await client.query(insertValues('public', 'history', cols, rows.slice(i, i + PER).map(tuple)));
      });
      await time('INSERT via COPY FROM STDIN (text)', async () => {
        const rows = ins();
        for (let i = 0; i < N; i += PER) {
          const text =
            rows
              .slice(i, i + PER)
              .map((r) => r.map((v) => (v === null ? '\\N' : v)).join('\t'))
              .join('\n') + '\n';
          await pipeline(
            Readable.from([text]),
            client.query(copyFrom(`COPY history (hid, aid, delta, mtime, filler) FROM STDIN`)),
          );
        }
      });
      await time('DELETE ... USING (VALUES) multi-row literals', async () => {
        const rows = Array.from({ length: N }, () => [String(nextDel++)]);
        for (let i = 0; i < N; i += PER)
          await client.query(deleteValues('public', 'history', hkey, rows.slice(i, i + PER)));
      });
      await client.query(`SET enable_hashjoin = off`);
      await client.query(`SET enable_mergejoin = off`);
      await time('same, hash and merge joins off', async () => {
        const rows = Array.from({ length: N }, () => [String(nextDel++)]);
        for (let i = 0; i < N; i += PER)
          await client.query(deleteValues('public', 'history', hkey, rows.slice(i, i + PER)));
      });
      const arrayHkey = hkey.map((k) => ({ ...k, arrayType: `${k.type}[]` }));
      await time('same, keys as one array, unnested (what dts runs)', async () => {
        const rows = Array.from({ length: N }, () => [String(nextDel++)]);
        for (let i = 0; i < N; i += PER)
          await client.query(deleteValues('public', 'history', arrayHkey, rows.slice(i, i + PER)));
      });
      await client.query(`RESET enable_hashjoin`);
      await client.query(`RESET enable_mergejoin`);
    }
    await client.end();
  } finally {
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
