import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUPERUSER_PASSWORD, type TestServer } from '../../test/harness/pg-server.js';
import { check, clientBin, conninfo, exec, execPipe, execWithPeakRss, onPath, pgEnv } from './proc.js';

const PG_DUMP = clientBin('pg_dump');
const PG_RESTORE = clientBin('pg_restore');
const PSQL = clientBin('psql');
import type { BenchTable } from './source.js';

/** What every method gets: the same servers, the same source database, the same parallelism. */
export interface BenchContext {
  readonly source: TestServer;
  readonly target: TestServer;
  readonly sourceDatabase: string;
  readonly parallel: number;
  /** dts's `options.splitTableBytes` (`auto`, or a size such as 1GB). */
  readonly split: string;
  /** A scratch folder of this run (task file, dump folders). */
  readonly workDir: string;
  readonly tables: readonly BenchTable[];
  readonly repoRoot: string;
}

/** One timed method. `wallMs` is what the ratios compare; `steps` says where the time went. */
export interface MethodResult {
  readonly method: string;
  /** The fresh target database it loaded. */
  readonly database: string;
  readonly wallMs: number;
  /** Moving the rows only (no schema, no indexes), where the method lets us see it. */
  readonly copyMs: number | undefined;
  readonly peakRssKb: number | undefined;
  readonly steps: readonly { readonly label: string; readonly ms: number }[];
  readonly notes: readonly string[];
  /** Copy time of each table (first byte to last, all its ranges), where the method lets us see it. */
  readonly tableMs?: ReadonlyMap<string, number>;
}

/** Phases of dts's --json report (FullLoadReport.timings), the few fields read here. */
interface DtsJsonReport {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly timings: readonly { readonly phase: string; readonly ms: number }[];
  readonly databases: readonly {
    readonly tables: readonly { readonly name: string; readonly format: string; parts: number; ms: number }[];
  }[];
}

/**
 * (a) dts `mode: full` on the built CLI, the way a user runs it: a task file whose passwords are
 * `${...}` references resolved from the child's environment, `dts run --no-validate --json`.
 */
export async function benchDts(ctx: BenchContext): Promise<MethodResult> {
  const database = 'bench_dts';
  const file = join(ctx.workDir, 'bench-dts.yaml');
  writeFileSync(
    file,
    `name: bench
mode: full
source:
  url: ${ctx.source.url(ctx.sourceDatabase)}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${ctx.target.url(database)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
options:
  parallel: ${ctx.parallel}
  splitTableBytes: ${ctx.split}
`,
  );
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD,
    DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD,
  };
  const r = await execWithPeakRss(
    process.execPath,
    [join(ctx.repoRoot, 'bin', 'dts'), 'run', file, '--no-validate', '--json'],
    env,
  );
  if (r.code !== 0) {
    // Under --json, stderr is mostly progress events: keep the other lines, and the last event.
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    const said = [...lines.filter((l) => !l.startsWith('{"at":')), lines.at(-1)?.slice(0, 300) ?? ''];
    throw new Error(`dts run exited ${r.code}:\n${said.join('\n')}\n${r.stdout.slice(0, 3000)}`);
  }
  const report = JSON.parse(r.stdout) as DtsJsonReport;
  if (!report.ok) throw new Error(`dts run: the report says ok: false:\n${r.stdout.slice(0, 2000)}`);
  const byPhase = new Map<string, number>();
  for (const t of report.timings) byPhase.set(t.phase, (byPhase.get(t.phase) ?? 0) + t.ms);
  const tables = report.databases.flatMap((d) => d.tables);
  const binary = tables.filter((t) => t.format === 'binary').length;
  const split = tables.filter((t) => t.parts > 1).length;
  return {
    method: `dts mode: full, parallel ${ctx.parallel}, split ${ctx.split}`,
    database,
    wallMs: r.ms,
    copyMs: byPhase.get('copy'),
    peakRssKb: r.peakRssKb,
    steps: [
      ...[...byPhase].map(([label, ms]) => ({ label, ms })),
      { label: 'process start, task load, exit', ms: r.ms - report.durationMs },
    ],
    notes: [
      `${binary}/${tables.length} tables in binary COPY, ${split} split into ranges`,
      `peak RSS by ${r.rssBy}`,
    ],
    tableMs: new Map(tables.map((t) => [t.name, t.ms])),
  };
}

/**
 * (b) pg_dump -Fd -j N, then pg_restore -j N into a fresh database. `compress` is pg_dump's -Z (its
 * default for -Fd is gzip); the two steps run one after the other, as they must with a dump folder.
 */
export async function benchPgDump(ctx: BenchContext, compress: string | undefined): Promise<MethodResult> {
  const database = compress === undefined ? 'bench_pgdump' : `bench_pgdump_z${compress}`;
  await ctx.target.query(`CREATE DATABASE ${database}`);
  const dir = join(ctx.workDir, database);
  const z = compress === undefined ? [] : ['-Z', compress];
  const j = ['-j', String(ctx.parallel)];
  const dump = check(
    'pg_dump',
    await exec(
      PG_DUMP,
      ['-Fd', ...j, ...z, '-f', dir, '-d', conninfo(ctx.source, ctx.sourceDatabase)],
      pgEnv(),
    ),
  );
  const restore = check(
    'pg_restore',
    await exec(PG_RESTORE, [...j, '-d', conninfo(ctx.target, database), dir], pgEnv()),
  );
  const du = await exec('du', ['-sm', dir], pgEnv());
  return {
    method: `pg_dump -Fd${compress === undefined ? '' : ` -Z ${compress}`} -j ${ctx.parallel} + pg_restore -j ${ctx.parallel}`,
    database,
    wallMs: dump.ms + restore.ms,
    copyMs: undefined,
    peakRssKb: undefined,
    steps: [
      { label: 'pg_dump', ms: dump.ms },
      { label: 'pg_restore', ms: restore.ms },
    ],
    notes: [`dump folder ${du.stdout.split('\t')[0]} MB; ${PG_DUMP}, ${PG_RESTORE}`],
  };
}

/** Run `fn` on every item, `n` at a time, biggest first as given; the first failure rejects. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/**
 * (c) The practical limit: for every table `psql -c "COPY t TO STDOUT" | psql -c "COPY t FROM STDIN"`
 * (text format, as psql does), N tables at a time, biggest first, into tables pre-created without indexes.
 * Schema (pre-data) and indexes (post-data, pg_restore -j N) are timed as steps of their own; the schema
 * comes from one `pg_dump -s` taken before the clock starts. No snapshot is shared: the source is idle.
 */
export async function benchCopyPipe(ctx: BenchContext): Promise<MethodResult> {
  const database = 'bench_pipe';
  await ctx.target.query(`CREATE DATABASE ${database}`);
  const schema = join(ctx.workDir, 'schema.dump');
  check(
    'pg_dump -s',
    await exec(PG_DUMP, ['-Fc', '-s', '-f', schema, '-d', conninfo(ctx.source, ctx.sourceDatabase)], pgEnv()),
  );
  const target = conninfo(ctx.target, database);
  const pre = check(
    'pg_restore --section=pre-data',
    await exec(PG_RESTORE, ['--section=pre-data', '-d', target, schema], pgEnv()),
  );

  const tableMs = new Map<string, number>();
  const t0 = performance.now();
  await pool(ctx.tables, ctx.parallel, async (t) => {
    const psql = (conn: string, sql: string) => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', conn, '-c', sql];
    const r = check(
      `COPY pipe of ${t.name}`,
      await execPipe(
        [PSQL, psql(conninfo(ctx.source, ctx.sourceDatabase), `COPY public."${t.name}" TO STDOUT`)],
        [PSQL, psql(target, `COPY public."${t.name}" FROM STDIN`)],
        pgEnv(),
      ),
    );
    tableMs.set(t.name, r.ms);
  });
  const copyMs = performance.now() - t0;

  const post = check(
    'pg_restore --section=post-data',
    await exec(
      PG_RESTORE,
      ['--section=post-data', '-j', String(ctx.parallel), '-d', target, schema],
      pgEnv(),
    ),
  );
  return {
    method: `COPY pipe (psql | psql), ${ctx.parallel} tables at a time`,
    database,
    wallMs: pre.ms + copyMs + post.ms,
    copyMs,
    peakRssKb: undefined,
    steps: [
      { label: 'pre-data (pg_restore --section=pre-data)', ms: pre.ms },
      { label: 'copy', ms: copyMs },
      { label: `post-data (pg_restore --section=post-data -j ${ctx.parallel})`, ms: post.ms },
    ],
    notes: [`client programs: ${PSQL}, ${PG_RESTORE}`],
    tableMs,
  };
}

/** pgcopydb clone, when a pgcopydb binary is on PATH (not tried where it is not: nothing to compare). */
export async function benchPgcopydb(ctx: BenchContext): Promise<MethodResult | undefined> {
  const bin = onPath('pgcopydb');
  if (bin === undefined) return undefined;
  const database = 'bench_pgcopydb';
  await ctx.target.query(`CREATE DATABASE ${database}`);
  const dir = join(ctx.workDir, 'pgcopydb');
  mkdirSync(dir);
  const j = String(ctx.parallel);
  const r = check(
    'pgcopydb clone',
    await exec(
      bin,
      [
        'clone',
        '--source',
        conninfo(ctx.source, ctx.sourceDatabase),
        '--target',
        conninfo(ctx.target, database),
        '--table-jobs',
        j,
        '--index-jobs',
        j,
        '--dir',
        dir,
      ],
      pgEnv(),
    ),
  );
  return {
    method: `pgcopydb clone --table-jobs ${j} --index-jobs ${j}`,
    database,
    wallMs: r.ms,
    copyMs: undefined,
    peakRssKb: undefined,
    steps: [],
    notes: [],
  };
}
