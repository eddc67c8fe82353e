/**
 * `dts verify` throughput on the full-load dataset: `npm run bench:verify -- [--scale 0.25] [--parallel 2]
 * [--no-build]` (see bench/README.md).
 *
 * Starts a PostgreSQL 14 source and a 17 target (the test harness servers), builds the dataset of
 * bench/full-load/dataset.sql, copies it with `dts run` (mode: full), then times `dts verify --json` on the
 * built CLI: once comparing everything, once with --sample 10, and once after changing rows on the target
 * (so the narrowing to keys is timed too). Prints wall time and MB/s of source heap (main fork plus TOAST).
 * Figures are printed, never asserted; the exit code is non-zero when a verify says something unexpected.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../test/harness/pg-server.js';
import { describeTables, generate } from '../full-load/source.js';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '0.25' },
    parallel: { type: 'string', default: '2' },
    'no-build': { type: 'boolean', default: false },
  },
});
const scale = Number(args.scale);
const parallel = Number(args.parallel);
if (!(scale > 0) || !Number.isInteger(parallel) || parallel < 1) {
  console.error('usage: run.ts [--scale <number > 0>] [--parallel <integer >= 1>] [--no-build]');
  process.exit(2);
}
const MB = 1024 * 1024;
const repoRoot = new URL('../..', import.meta.url).pathname;
const SETTINGS = { shared_buffers: '256MB', max_wal_size: '8GB', checkpoint_timeout: '30min' };
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD,
  DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD,
};

function dts(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'dts'), ...argv], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

interface Totals {
  readonly ok: boolean;
  readonly totals: { sourceRows: number; missing: number; extra: number; changed: number; different: number };
}

async function main(): Promise<void> {
  if (!args['no-build'])
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
  const work = mkdtempSync(join(tmpdir(), 'dts-bench-verify-'));
  let source: TestServer | undefined;
  let target: TestServer | undefined;
  try {
    [source, target] = await Promise.all([
      startServer({ version: 14, settings: SETTINGS }),
      startServer({ version: 17, settings: SETTINGS }),
    ]);
    console.log(`generating the dataset at scale ${scale} ...`);
    await generate(source, 'bench', scale);
    const tables = await describeTables(source, 'bench');
    const heap = tables.reduce((n, t) => n + t.heapBytes, 0);
    const rows = tables.reduce((n, t) => n + t.rows, 0);
    const file = join(work, 'bench.yaml');
    writeFileSync(
      file,
      `name: bench
mode: full
source:
  url: ${source.url('bench')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${target.url('bench_copy')}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
options:
  parallel: ${parallel}
`,
    );
    console.log(
      `copying ${(heap / MB).toFixed(0)} MB (${rows.toLocaleString('en-US')} rows) with dts run ...`,
    );
    const load = await dts(['run', file, '--no-validate', '--json']);
    if (load.code !== 0) throw new Error(`dts run exited ${load.code}: ${load.stderr.slice(-2000)}`);
    for (const s of [source, target]) await s.query('CHECKPOINT');

    const results: [string, number, Totals][] = [];
    const time = async (label: string, extra: string[], expectOk: boolean) => {
      const r = await dts(['verify', file, '--json', '--parallel', String(parallel), ...extra]);
      const report = JSON.parse(r.stdout) as Totals;
      if (report.ok !== expectOk || (r.code === 0) !== expectOk)
        throw new Error(`${label}: exit ${r.code}, ok ${report.ok}: ${r.stdout.slice(0, 2000)}`);
      results.push([label, r.ms, report]);
    };
    await time('verify (everything)', [], true);
    await time('verify --sample 10', ['--sample', '10'], true);
    const biggest = tables[0]!.name;
    // 1,000 rows of the biggest table deleted behind dts' back: narrowing lists each of them.
    const deleted = await target.query(
      `SET session_replication_role = replica;
       DELETE FROM ${biggest} WHERE ctid IN (SELECT ctid FROM ${biggest} LIMIT 1000)`,
      [],
      'bench_copy',
    );
    const n = (deleted as unknown as { rowCount: number }[]).at(-1)?.rowCount ?? 0;
    await time(`verify, ${n.toLocaleString('en-US')} rows deleted on the target`, [], false);
    const found = results.at(-1)![2].totals;
    if (found.missing !== n || found.extra !== 0 || found.changed !== 0)
      throw new Error(
        `verify found ${found.missing} missing, ${found.extra} extra, ${found.changed} changed; ${n} were deleted`,
      );

    console.log('');
    console.log(
      `dataset: scale ${scale}, ${tables.length} tables, ${(heap / MB).toFixed(0)} MB of source heap, ${rows.toLocaleString('en-US')} rows; ` +
        `PostgreSQL 14 -> 17; --parallel ${parallel}; ${cpus().length} cores`,
    );
    console.log('| run | seconds | MB/s of source heap | rows compared (source) | differences found |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [label, ms, r] of results) {
      const t = r.totals;
      console.log(
        `| ${label} | ${(ms / 1000).toFixed(1)} | ${(heap / MB / (ms / 1000)).toFixed(1)} | ${t.sourceRows.toLocaleString('en-US')} | ${(t.missing + t.extra + t.changed).toLocaleString('en-US')} |`,
      );
    }
  } finally {
    await Promise.all([source?.stop(), target?.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
