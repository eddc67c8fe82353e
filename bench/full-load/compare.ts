/**
 * dts `mode: full` against pg_dump/pg_restore and a plain COPY pipe, on the same servers in one run:
 * `npm run bench:full-load -- [--scale 1] [--parallel 2] [--split auto|<size>] [--no-build] [--no-gzip] [--only <method>]` (see bench/README.md).
 *
 * Starts a PostgreSQL 14 source and a 17 target (the test harness servers), builds the dataset of
 * dataset.sql, then loads it with each method into a fresh target database, checks row counts and index
 * counts after each, and prints wall time, MB/s of source heap, dts's peak RSS and the targets.
 * Figures are printed, never asserted; the exit code is non-zero only when a method fails or a copy differs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer, type TestServer } from '../../test/harness/pg-server.js';
import {
  benchCopyPipe,
  benchDts,
  benchPgcopydb,
  benchPgDump,
  type BenchContext,
  type MethodResult,
} from './methods.js';
import { clientBin, exec, pgEnv } from './proc.js';
import { countIndexes, describeTables, generate, verifyCounts, type BenchTable } from './source.js';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '2' },
    split: { type: 'string', default: 'auto' },
    'no-build': { type: 'boolean', default: false },
    'no-gzip': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const scale = Number(args.scale);
const parallel = Number(args.parallel);
if (!(scale > 0) || !Number.isInteger(parallel) || parallel < 1) {
  console.error(
    'usage: compare.ts [--scale <number > 0>] [--parallel <integer >= 1>] [--split auto|<size>] [--no-build] [--no-gzip] [--only <method>]',
  );
  process.exit(2);
}

const MB = 1024 * 1024;
const repoRoot = new URL('../..', import.meta.url).pathname;
const SOURCE_DB = 'bench';
/** The same on both servers: room for the load without checkpoints forced by WAL volume. */
const SETTINGS = { shared_buffers: '256MB', max_wal_size: '8GB', checkpoint_timeout: '30min' };

const sec = (ms: number) => (ms / 1000).toFixed(1);
const line = (s = '') => console.log(s);

async function version(file: string): Promise<string> {
  try {
    return (await exec(file, ['--version'], pgEnv())).stdout.trim();
  } catch (e) {
    return `not runnable: ${(e as Error).message}`;
  }
}

/** The big tables one by one, the small ones summed: where a method's copy time went. */
function perTable(tableMs: ReadonlyMap<string, number>, tables: readonly BenchTable[]): string {
  const big = tables.filter((t) => !t.name.startsWith('small_'));
  const small = tables.filter((t) => t.name.startsWith('small_'));
  const smallMs = small.reduce((n, t) => n + (tableMs.get(t.name) ?? 0), 0);
  return [
    ...big.map((t) => `${t.name} ${sec(tableMs.get(t.name) ?? NaN)} s`),
    `${small.length} small tables ${sec(smallMs)} s summed (${(smallMs / small.length).toFixed(0)} ms each)`,
  ].join(', ');
}

function summary(results: readonly MethodResult[], heapBytes: number): void {
  const rows = results.map((r) => [
    r.method,
    sec(r.wallMs),
    ((heapBytes / MB / r.wallMs) * 1000).toFixed(1),
    r.copyMs === undefined ? '' : sec(r.copyMs),
    r.copyMs === undefined ? '' : ((heapBytes / MB / r.copyMs) * 1000).toFixed(1),
    r.peakRssKb === undefined ? '' : `${(r.peakRssKb / 1024).toFixed(0)} MB`,
  ]);
  const head = ['method', 'wall s', 'MB/s', 'copy s', 'copy MB/s', 'peak RSS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  line(fmt(head));
  line(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) line(fmt(r));
}

function targets(results: readonly MethodResult[]): void {
  const dts = results.find((r) => r.method.startsWith('dts'));
  if (!dts) return line('targets: dts did not finish; nothing to compare');
  const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  line('ratios (dts / other, wall time; below 1 means dts is faster):');
  for (const r of results.filter((r) => r.method.startsWith('pg_dump')))
    line(
      `  dts vs ${r.method}: ${(dts.wallMs / r.wallMs).toFixed(2)}  ` +
        `target "dts beats pg_dump/pg_restore at equal parallelism": ${verdict(dts.wallMs < r.wallMs)}`,
    );
  const pipe = results.find((r) => r.method.startsWith('COPY pipe'));
  if (pipe) {
    const whole = dts.wallMs / pipe.wallMs;
    line(
      `  dts vs COPY pipe, end to end (schema + copy + indexes): ${whole.toFixed(2)}  ` +
        `target "within 1.2x of the COPY-pipe limit": ${verdict(whole <= 1.2)}`,
    );
    if (dts.copyMs !== undefined && pipe.copyMs !== undefined) {
      const copy = dts.copyMs / pipe.copyMs;
      line(
        `  dts copy phase vs COPY pipe copy (rows only): ${copy.toFixed(2)}  ` +
          `same target on the copy alone: ${verdict(copy <= 1.2)}`,
      );
    }
  }
  const pgcopydb = results.find((r) => r.method.startsWith('pgcopydb'));
  if (pgcopydb) line(`  dts vs ${pgcopydb.method}: ${(dts.wallMs / pgcopydb.wallMs).toFixed(2)}`);
  if (dts.peakRssKb !== undefined)
    line(
      `  dts peak RSS ${(dts.peakRssKb / 1024).toFixed(0)} MB  target "under 200 MB": ` +
        verdict(dts.peakRssKb < 200 * 1024),
    );
}

async function main(): Promise<number> {
  line(`dts full-load benchmark, ${new Date().toISOString()}`);
  line(
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  line(`scale ${scale}, parallel ${parallel}; source PostgreSQL 14, target 17 (test harness servers)`);
  for (const tool of ['pg_dump', 'pg_restore', 'psql'].map(clientBin))
    line(`${tool}: ${await version(tool)}`);

  const git = (a: string[]) => execFileSync('git', a, { cwd: repoRoot }).toString().trim();
  try {
    const dirty = git(['status', '--porcelain', '--', 'src']) !== '';
    line(
      `dts: commit ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ' with uncommitted changes in src/' : ''}`,
    );
  } catch {
    line('dts: not a git checkout');
  }
  if (!args['no-build']) {
    line('building dts: npx tsc -p tsconfig.json');
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
  }

  const workDir = mkdtempSync(join(tmpdir(), 'dts-bench-'));
  let source: TestServer | undefined;
  let target: TestServer | undefined;
  let failed = false;
  try {
    [source, target] = await Promise.all([
      startServer({ version: 14, settings: SETTINGS }),
      startServer({ version: 17, settings: SETTINGS }),
    ]);
    let t0 = performance.now();
    await generate(source, SOURCE_DB, scale);
    const tables = await describeTables(source, SOURCE_DB);
    const sourceIndexes = await countIndexes(source, SOURCE_DB);
    const heapBytes = tables.reduce((n, t) => n + t.heapBytes, 0);
    const rows = tables.reduce((n, t) => n + t.rows, 0);
    line(
      `dataset: ${tables.length} tables, ${rows.toLocaleString('en')} rows, ${(heapBytes / MB).toFixed(0)} MB heap ` +
        `(main fork + TOAST), ${sourceIndexes} indexes; generated in ${sec(performance.now() - t0)} s`,
    );
    for (const t of tables.slice(0, 3))
      line(`  ${t.name}: ${t.rows.toLocaleString('en')} rows, ${(t.heapBytes / MB).toFixed(0)} MB`);
    line(`  ... and ${tables.length - 3} small tables`);

    const ctx: BenchContext = {
      source,
      target,
      sourceDatabase: SOURCE_DB,
      parallel,
      split: args.split,
      workDir,
      tables,
      repoRoot,
    };
    const methods: { name: string; run: () => Promise<MethodResult | undefined> }[] = [
      { name: 'dts', run: () => benchDts(ctx) },
      ...(!args['no-gzip'] ? [{ name: 'pg_dump (gzip)', run: () => benchPgDump(ctx, undefined) }] : []),
      { name: 'pg_dump -Z 0', run: () => benchPgDump(ctx, '0') },
      { name: 'COPY pipe', run: () => benchCopyPipe(ctx) },
      { name: 'pgcopydb', run: () => benchPgcopydb(ctx) },
    ];
    const results: MethodResult[] = [];
    for (const m of methods.filter((m) => args.only === undefined || m.name.startsWith(args.only))) {
      // Start every method from a clean slate: no dirty buffers left by the previous one.
      await Promise.all([source.query('CHECKPOINT'), target.query('CHECKPOINT')]);
      line();
      const load = loadavg()[0]!.toFixed(2);
      t0 = performance.now();
      let r: MethodResult | undefined;
      try {
        r = await m.run();
      } catch (e) {
        failed = true;
        line(`${m.name}: FAILED after ${sec(performance.now() - t0)} s: ${(e as Error).message}`);
        continue;
      }
      if (r === undefined) {
        line(`${m.name}: not installed`);
        continue;
      }
      line(`${r.method}: ${sec(r.wallMs)} s (load average before: ${load})`);
      for (const s of r.steps) line(`  ${s.label}: ${sec(s.ms)} s`);
      for (const n of r.notes) line(`  ${n}`);
      if (r.tableMs) line(`  per table: ${perTable(r.tableMs, tables)}`);
      const v = await verifyCounts(target, r.database, tables, sourceIndexes);
      if (v.problems.length === 0)
        line(
          `  verify: row counts of all ${tables.length} tables match the source; ${sourceIndexes} indexes`,
        );
      else {
        failed = true;
        line(`  verify: MISMATCH: ${v.matched}/${tables.length} tables match; ${v.problems.join('; ')}`);
      }
      results.push(r);
    }

    line();
    summary(results, heapBytes);
    line('(MB/s = source heap bytes, main fork + TOAST, / seconds; copy = rows only, no schema or indexes)');
    line();
    targets(results);
  } finally {
    await Promise.all([source?.stop(), target?.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
