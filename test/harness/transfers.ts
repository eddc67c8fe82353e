import type pg from 'pg';
import { openSession, type TestServer } from './pg-server.js';

/**
 * Accounts moved by transfers, and an insert-only log without any unique key: a transaction applied twice
 * shows as a duplicate `(writer, seq)`, one lost as a gap, and the balances always sum to 50,000.
 */
export const TRANSFERS_DDL = `
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 50) g;
CREATE TABLE log (writer int, seq int, note text);
ALTER TABLE log REPLICA IDENTITY FULL;
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One transfer of writer `w`, its `i`-th: two balance updates and a log row, plus `extra` statements. */
export function transferSql(w: number, i: number, extra = ''): string {
  const a = ((i * 7 + w) % 50) + 1;
  const b = ((i * 13 + w) % 50) + 1;
  return `BEGIN; UPDATE accounts SET balance = balance - 1 WHERE id = ${a};
    UPDATE accounts SET balance = balance + 1 WHERE id = ${b};
    INSERT INTO log VALUES (${w}, ${i}, 'transfer');${extra} COMMIT`;
}

/**
 * `writers` sessions on `server` committing `sql(w, i)` until `stop()`, which returns how many committed.
 * With `reconnect`, a session cut by a server restart connects again and goes on with its next number (a
 * transaction cut mid-way is committed or rolled back by the server, whole either way); without it, the
 * first failure fails `stop()`.
 */
export function writeUntilStopped(
  server: TestServer,
  database: string,
  opts: { writers: number; reconnect: boolean; sql?: (w: number, i: number) => string },
): { stop(): Promise<number> } {
  const sql = opts.sql ?? transferSql;
  let stopping = false;
  let count = 0;
  const one = async (w: number) => {
    for (let i = 0; !stopping;) {
      let c: pg.Client | undefined;
      try {
        c = await openSession(server, database);
        c.on('error', () => undefined);
        for (; !stopping; i++) {
          await c.query(sql(w, i));
          count++;
          if (i % 20 === 0) await sleep(5);
        }
      } catch (e) {
        if (!opts.reconnect) throw e;
        i++;
        await sleep(200);
      } finally {
        await c?.end().catch(() => undefined);
      }
    }
  };
  const all = Promise.all([...Array(opts.writers).keys()].map(one));
  return {
    async stop() {
      stopping = true;
      await all;
      return count;
    },
  };
}
