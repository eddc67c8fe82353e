/**
 * Full-load throughput: `npx tsx bench/full-load/run.ts [rows] [parallel]`.
 *
 * Starts a PostgreSQL 14 source and a 17 target (the test harness servers), generates `rows` rows of a
 * mixed-type table, then measures (1) one whole-table COPY in text and in binary, (2) runFullLoad with
 * the table split into ranges on `parallel` workers. Prints MB/s of heap and of COPY data, rows/s and
 * peak RSS of this process (which must not grow with the table: the copy is streamed).
 */
import pg from 'pg';
import { runFullLoad } from '../../src/copy/index.js';
import { copyUnit } from '../../src/copy/pipe.js';
import { copyInSql, copyOutSql } from '../../src/copy/plan.js';
import type { CopyFormat, CopyUnit, TablePlan } from '../../src/copy/types.js';
import type { Task } from '../../src/task/types.js';
import { endpointFor, TEST_PASSWORD_ENV } from '../../test/harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../test/harness/pg-server.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const parallel = Number(process.argv[3] ?? 2);
const MB = 1024 * 1024;

const client = async (s: TestServer, database: string) => {
  const c = new pg.Client({
    host: s.host,
    port: s.port,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    database,
  });
  await c.connect();
  return c;
};

const peakRss = () => `${Math.round(process.resourceUsage().maxRSS / 1024)} MB`;

async function main(): Promise<void> {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  const settings = { shared_buffers: '256MB', max_wal_size: '4GB' };
  const [source, target] = await Promise.all([
    startServer({ version: 14, settings }),
    startServer({ version: 17, settings }),
  ]);
  try {
    await source.query('CREATE DATABASE bench');
    const ddl = `CREATE TABLE bench (id bigint PRIMARY KEY, at timestamptz NOT NULL, amount numeric(12,2),
                  label text, attrs jsonb, score float8, flags int[])`;
    await source.query(ddl, [], 'bench');
    let t0 = Date.now();
    await source.query(
      `INSERT INTO bench SELECT g, now() - g * interval '1 second', (g % 100000) / 100.0, md5(g::text) || ' row ' || g,
         jsonb_build_object('k', g % 97, 'tag', 'x' || (g % 13)), random(), ARRAY[g % 7, g % 11]
       FROM generate_series(1, $1) g`,
      [rows],
      'bench',
    );
    await source.query('VACUUM ANALYZE bench', [], 'bench');
    const size = Number(
      (await source.query(`SELECT pg_relation_size('bench') AS b`, [], 'bench')).rows[0]!.b,
    );
    console.log(`generated ${rows} rows, ${(size / MB).toFixed(0)} MB heap in ${Date.now() - t0} ms`);

    // (1) One stream, whole table, text vs binary (into a plain table: no index to maintain).
    const columns = ['id', 'at', 'amount', 'label', 'attrs', 'score', 'flags'];
    for (const format of ['text', 'binary', 'text', 'binary'] as CopyFormat[]) {
      await target.query('DROP DATABASE IF EXISTS one');
      await target.query('CREATE DATABASE one');
      await target.query(ddl.replace(' PRIMARY KEY', ''), [], 'one');
      const s = await client(source, 'bench');
      const t = await client(target, 'one');
      const table: TablePlan = {
        key: 'k',
        schema: 'public',
        name: 'bench',
        columns,
        format,
        formatReason: undefined,
        parts: 1,
        estimatedBytes: size,
        estimatedRows: rows,
      };
      const unit: CopyUnit = {
        id: 'bench',
        table,
        part: 0,
        range: undefined,
        estimatedBytes: size,
        copyOut: copyOutSql(table, undefined),
        copyIn: copyInSql(table, true),
        truncateFirst: true,
      };
      t0 = Date.now();
      const r = await copyUnit(s, t, unit);
      const ms = Date.now() - t0;
      console.log(
        `one stream, ${format.padEnd(6)}: ${ms} ms, ${((size / MB / ms) * 1000).toFixed(1)} MB/s heap, ` +
          `${((r.bytes / MB / ms) * 1000).toFixed(1)} MB/s COPY data (${(r.bytes / MB).toFixed(0)} MB), ` +
          `${Math.round((r.rows / ms) * 1000)} rows/s, peak RSS ${peakRss()}`,
      );
      await s.end();
      await t.end();
    }

    // (2) The whole stage: pre-data, split ranges on `parallel` workers, post-data (the primary key), ANALYZE.
    await target.query('CREATE DATABASE bench');
    const task: Task = {
      name: 'bench',
      file: '/nowhere/bench.yaml',
      schedule: undefined,
      mode: 'full',
      source: endpointFor(source, { database: 'bench' }),
      target: endpointFor(target, { database: 'bench' }),
      objects: { databases: [{ name: 'bench', include: [], exclude: [] }], include: [], exclude: [] },
      options: { parallel, namePrefix: 'dts', splitTableBytes: 32 * MB, missingRoles: 'error', roleMap: {} },
    };
    t0 = Date.now();
    const report = await runFullLoad(task);
    const ms = Date.now() - t0;
    const copy = report.timings.find((t) => t.phase === 'copy')!.ms;
    const db = report.databases[0]!;
    console.log(
      `runFullLoad, ${parallel} workers, ${db.tables[0]!.parts} ranges, ${db.tables[0]!.format}: copy ${copy} ms ` +
        `(${((size / MB / copy) * 1000).toFixed(1)} MB/s heap, ${((db.bytes / MB / copy) * 1000).toFixed(1)} MB/s COPY data), ` +
        `total ${ms} ms (${report.timings.map((t) => `${t.phase} ${t.ms}`).join(', ')}), peak RSS ${peakRss()}`,
    );
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}

await main();
