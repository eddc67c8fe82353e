import pg from 'pg';
import { startServer, startStandby, SUPERUSER_PASSWORD } from '../../test/harness/pg-server.js';

/**
 * How long CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT takes on a hot standby (PostgreSQL 17) when
 * (a) dts asks the primary for running-xacts records (pg_log_standby_snapshot() every second), and
 * (b) the primary only writes a little (its background writer logs one every 15 s). Prints the figures.
 */

const primary = await startServer({ version: 17 });
const standby = await startStandby(primary);
const replication = () =>
  new pg.Client({
    host: standby.host,
    port: standby.port,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    database: 'postgres',
    replication: 'database',
  } as pg.ClientConfig);

async function timeSlot(name: string, helper: () => Promise<void>): Promise<number> {
  const c = replication();
  await c.connect();
  let done = false;
  const started = Date.now();
  const helping = (async () => {
    while (!done) {
      await helper();
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  try {
    await c.query(`CREATE_REPLICATION_SLOT ${name} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT`);
    return Date.now() - started;
  } finally {
    done = true;
    await helping;
    await c.end();
  }
}

try {
  await primary.query('CREATE TABLE ticks (at timestamptz)');
  const rows: [string, number][] = [];
  for (let i = 0; i < 3; i++)
    rows.push([
      'pg_log_standby_snapshot() on the primary every 1 s',
      await timeSlot(`nudged_${i}`, async () => {
        await primary.query('SELECT pg_log_standby_snapshot()');
      }),
    ]);
  for (let i = 0; i < 2; i++)
    rows.push([
      'a write on the primary every 1 s, nothing else',
      await timeSlot(`waiting_${i}`, async () => {
        await primary.query('INSERT INTO ticks VALUES (now())');
      }),
    ]);
  for (const [how, ms] of rows) console.log(`${how.padEnd(52)} ${(ms / 1000).toFixed(2)} s`);
} finally {
  await standby.stop();
  await primary.stop();
}
