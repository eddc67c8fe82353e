/**
 * Apply throughput as backlog drain, dts against PostgreSQL's own logical replication, on the same servers
 * in one run: `npm run bench:apply -- [--seconds 20] [--clients 2] [--big-rows 1000000] [--no-build]`
 * (see bench/README.md).
 *
 * 1. A PostgreSQL 14 source and a 17 target; a pgbench-like schema on the source; `dts run` (full+incremental)
 *    copies it and syncs; the runner is stopped (SIGINT).
 * 2. pgbench runs a fixed time on the source (each transaction: UPDATE of an account by key, INSERT into the
 *    history, one in four also DELETEs a history row); then a marker row is committed. `dts run` is started
 *    and timed until the marker is on the target: the target applies in commit order, so every workload
 *    transaction is then applied. Tables are compared with the source.
 * 3. One source transaction inserting `--big-rows` rows, drained the same way (time and peak RSS).
 * 4. `dts cancel`, then the same workload for a native subscription on the same (equal) target database:
 *    CREATE SUBSCRIPTION ... (enabled = false, copy_data = false), the workload, ALTER SUBSCRIPTION ENABLE,
 *    timed until the marker arrives.
 * Figures are printed, never asserted; the exit code is non-zero only when something fails or differs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DTS_BIN } from '../../test/harness/cli.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../test/harness/pg-server.js';
import { clientBin, conninfo, exec, pgEnv } from '../full-load/proc.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '2' },
    accounts: { type: 'string', default: '200000' },
    'big-rows': { type: 'string', default: '1000000' },
    'no-build': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
    /** Seconds of the live workload whose lag is sampled (0 skips that part). */
    'live-seconds': { type: 'string', default: '20' },
    /** Write a V8 CPU profile of each dts run into this folder. */
    profile: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const clients = Number(args.clients);
const accounts = Number(args.accounts);
const bigRows = Number(args['big-rows']);
const liveSeconds = Number(args['live-seconds']);

const DB = 'bench';
const repoRoot = new URL('../..', import.meta.url).pathname;
const line = (s = '') => console.log(s);
const sec = (ms: number) => (ms / 1000).toFixed(2);
const num = (n: number) => Math.round(n).toLocaleString('en');
const env = { DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD, DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD };

const SCHEMA = `
CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
INSERT INTO accounts SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, ${accounts}) g;
CREATE TABLE history (hid bigserial PRIMARY KEY, aid int NOT NULL, delta int NOT NULL,
                      mtime timestamptz NOT NULL, filler char(22));
INSERT INTO history (aid, delta, mtime) SELECT g, 0, now() FROM generate_series(1, 100000) g;
CREATE TABLE bulk (id int PRIMARY KEY, v text NOT NULL, n numeric NOT NULL);
CREATE TABLE marker (id int PRIMARY KEY);
ANALYZE;
`;

/** One pgbench transaction: an UPDATE by key, an INSERT, and one time in four a DELETE by key. */
const SCRIPT = `\\set aid random(1, ${accounts})
\\set delta random(-5000, 5000)
\\set hid random(1, 100000)
\\set d random(1, 4)
BEGIN;
UPDATE accounts SET abalance = abalance + :delta WHERE aid = :aid;
INSERT INTO history (aid, delta, mtime) VALUES (:aid, :delta, CURRENT_TIMESTAMP);
\\if :d = 1
DELETE FROM history WHERE hid = :hid;
\\endif
END;
`;

interface Runner {
  readonly pid: number;
  stop(): Promise<{ code: number | null; stderr: string }>;
  /** Peak RSS so far (VmHWM of the dts process), in kB. */
  peakKb(): number;
  /** Throws with what it printed when the process has exited (waiting for it would never end). */
  alive(): void;
}

function startDts(file: string): Runner {
  const prof = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
  const child = spawn(process.execPath, [...prof, DTS_BIN, 'run', file, '--no-validate'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let gone = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      gone = true;
      resolve(code);
    }),
  );
  let peak = 0;
  const poll = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(poll, 50);
  return {
    pid: child.pid!,
    peakKb: () => (poll(), peak),
    alive() {
      if (gone) throw new Error(`dts run exited early:\n${stderr.slice(-1500)}`);
    },
    async stop() {
      poll();
      child.kill('SIGINT');
      const code = await exited;
      clearInterval(timer);
      return { code, stderr };
    },
  };
}

async function until(
  what: string,
  ok: () => Promise<boolean>,
  ms: number,
  every = 20,
  runner?: Runner,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    runner?.alive();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

const markerOn = (target: TestServer, id: number) => async () =>
  (await target.query(`SELECT 1 FROM marker WHERE id = $1`, [id], DB)).rows.length === 1;

async function txCount(source: TestServer): Promise<{ commits: number; lsn: string }> {
  const { rows } = await source.query<{ c: string; lsn: string }>(
    `SELECT xact_commit::text AS c, pg_current_wal_lsn()::text AS lsn FROM pg_stat_database WHERE datname = $1`,
    [DB],
  );
  return { commits: Number(rows[0]!.c), lsn: rows[0]!.lsn };
}

/** A checksum of every table that the workload writes, on either side. */
async function digest(s: TestServer): Promise<string> {
  const parts: string[] = [];
  for (const [t, key] of [
    ['accounts', 'aid'],
    ['history', 'hid'],
    ['bulk', 'id'],
    ['marker', 'id'],
  ] as const) {
    const { rows } = await s.query<{ d: string }>(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY ${key})), '') AS d FROM ${t} t`,
      [],
      DB,
    );
    parts.push(`${t}=${rows[0]!.d}`);
  }
  return parts.join(' ');
}

async function pgbench(
  source: TestServer,
  dir: string,
  secs = seconds,
): Promise<{ tx: number; tps: string }> {
  const script = join(dir, 'tx.sql');
  writeFileSync(script, SCRIPT);
  const r = await exec(
    clientBin('pgbench'),
    [
      '-n',
      '-c',
      String(clients),
      '-j',
      String(clients),
      '-T',
      String(secs),
      '-f',
      script,
      conninfo(source, DB),
    ],
    pgEnv(),
  );
  if (r.code !== 0) throw new Error(`pgbench exited ${r.code}: ${r.stderr.slice(-1000)}`);
  const tx = /number of transactions actually processed: (\d+)/.exec(r.stdout);
  const tps = /tps = ([\d.]+)/.exec(r.stdout);
  return { tx: Number(tx?.[1] ?? NaN), tps: tps?.[1] ?? '?' };
}

/** CPU seconds (user + system) a process has used since it started; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** The walsender(s) on the source and the backends of other sessions on the target, by pid. */
async function serverPids(source: TestServer, target: TestServer) {
  const ws = await source.query<{ pid: number }>(`SELECT pid FROM pg_stat_replication`, [], DB);
  const tb = await target.query<{ pid: number; backend_type: string }>(
    `SELECT pid, backend_type FROM pg_stat_activity
     WHERE datname = $1 AND pid <> pg_backend_pid()
       AND (backend_type = 'client backend' OR backend_type LIKE 'logical replication%')`,
    [DB],
    DB,
  );
  return { walsenders: ws.rows.map((r) => r.pid), target: tb.rows.map((r) => r.pid) };
}

/** Updates of `accounts` on the target so far, and how many of them were HOT (no index entry written). */
async function targetUpdates(target: TestServer): Promise<{ upd: number; hot: number }> {
  // Backends report their statistics at most once a second.
  await new Promise((r) => setTimeout(r, 1500));
  const { rows } = await target.query<{ upd: string; hot: string }>(
    `SELECT n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot FROM pg_stat_user_tables WHERE relname = 'accounts'`,
    [],
    DB,
  );
  return { upd: Number(rows[0]?.upd ?? 0), hot: Number(rows[0]?.hot ?? 0) };
}

/**
 * The target's table state differs between the consumers (native runs second, on tables dts's drain has
 * already churned), and a HOT update costs the target less than one that writes index entries.
 */
function hotLine(before: { upd: number; hot: number }, after: { upd: number; hot: number }): string {
  const upd = after.upd - before.upd;
  const hot = after.hot - before.hot;
  return `  accounts on the target: ${num(upd)} updates, ${upd ? ((hot / upd) * 100).toFixed(0) : '0'}% of them HOT`;
}

/** Who was busy during a drain: CPU seconds of the consumer, the walsender and the target backends. */
async function cpuReport(
  source: TestServer,
  target: TestServer,
  ms: number,
  consumerPid: number | undefined,
): Promise<string> {
  const { walsenders, target: backends } = await serverPids(source, target);
  const sum = (pids: number[]) => pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const pct = (s: number) => `${s.toFixed(2)} s (${((s / ms) * 100_000).toFixed(0)}% of the drain)`;
  const parts = [
    ...(consumerPid ? [`dts process ${pct(cpuSeconds(consumerPid))}`] : []),
    `walsender ${pct(sum(walsenders))}`,
    `target backends ${pct(sum(backends))}`,
  ];
  return `  CPU since the consumer started: ${parts.join(', ')}`;
}

const lsnNum = (t: string) => {
  const [h, l] = t.split('/');
  return (BigInt(`0x${h}`) << 32n) | BigInt(`0x${l}`);
};

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Lag under a live workload at full speed: pgbench runs `liveSeconds` while the source's WAL position and
 * the consumer's applied position (`appliedSql` on the target: a commit end LSN) are sampled every 250 ms.
 * Lag in bytes is their difference; lag in seconds is how long ago the source's WAL position was where the
 * applied position is now (linear between samples). Then a marker is committed and the time until it is on
 * the target is the catch-up time after the workload.
 */
async function liveLag(
  method: string,
  source: TestServer,
  target: TestServer,
  dir: string,
  appliedSql: string,
  markerId: number,
): Promise<void> {
  const history: { t: number; lsn: bigint }[] = [];
  const lags: { s: number; bytes: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const next = performance.now() + 250;
      const [src, app] = await Promise.all([
        source.query<{ l: string }>(`SELECT pg_current_wal_lsn()::text AS l`, [], DB),
        target.query<{ l: string | null }>(appliedSql, [], DB),
      ]);
      const t = performance.now();
      const srcLsn = lsnNum(src.rows[0]!.l);
      history.push({ t, lsn: srcLsn });
      const applied = app.rows[0]?.l ? lsnNum(app.rows[0].l) : 0n;
      let at = t;
      if (applied < srcLsn) {
        const i = history.findIndex((h) => h.lsn >= applied);
        if (i <= 0) at = history[0]!.t;
        else {
          const a = history[i - 1]!;
          const b = history[i]!;
          at = a.t + ((b.t - a.t) * Number(applied - a.lsn)) / Number(b.lsn - a.lsn || 1n);
        }
      }
      lags.push({ s: (t - at) / 1000, bytes: Number(srcLsn > applied ? srcLsn - applied : 0n) });
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  })();
  const pb = await pgbench(source, dir, liveSeconds);
  sampling = false;
  await sampler;
  const end = performance.now();
  await source.query(`INSERT INTO marker VALUES ($1)`, [markerId], DB);
  await until(`${method} catching up`, markerOn(target, markerId), 600_000);
  const caughtUp = performance.now() - end;
  const secs = lags.map((l) => l.s).sort((a, b) => a - b);
  const bytes = lags.map((l) => l.bytes).sort((a, b) => a - b);
  line(
    `  ${method} live: pgbench ${clients} clients ${liveSeconds} s, ${num(pb.tx)} transactions (${pb.tps} tps); ` +
      `${lags.length} samples`,
  );
  line(
    `    lag s p50 ${percentile(secs, 50).toFixed(2)} p95 ${percentile(secs, 95).toFixed(2)} max ${secs.at(-1)?.toFixed(2)}; ` +
      `lag kB p50 ${num(percentile(bytes, 50) / 1024)} p95 ${num(percentile(bytes, 95) / 1024)} max ${num((bytes.at(-1) ?? 0) / 1024)}; ` +
      `caught up ${sec(caughtUp)} s after the workload ended`,
  );
}

interface Drain {
  readonly method: string;
  readonly tx: number;
  readonly rows: number;
  readonly ms: number;
  readonly peakKb?: number;
}

function report(d: Drain): void {
  line(
    `  ${d.method}: ${num(d.tx)} source transactions (${num(d.rows)} row changes) drained in ${sec(d.ms)} s: ` +
      `${num((d.tx / d.ms) * 1000)} tx/s, ${num((d.rows / d.ms) * 1000)} rows/s` +
      (d.peakKb ? `, peak RSS ${(d.peakKb / 1024).toFixed(0)} MB` : ''),
  );
}

/** Row changes pgoutput will carry for the workload: from the source's own statistics. */
async function rowChanges(source: TestServer): Promise<number> {
  const { rows } = await source.query<{ n: string }>(
    `SELECT sum(n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_user_tables`,
    [],
    DB,
  );
  return Number(rows[0]!.n);
}

async function workload(source: TestServer, dir: string, markerId: number) {
  await source.query(`SELECT pg_stat_force_next_flush()`, [], DB).catch(() => undefined);
  const before = await txCount(source);
  const changesBefore = await rowChanges(source);
  const t0 = performance.now();
  const pb = await pgbench(source, dir);
  const ms = performance.now() - t0;
  await source.query(`INSERT INTO marker VALUES ($1)`, [markerId], DB);
  await new Promise((r) => setTimeout(r, 700)); // statistics are flushed at most once a second
  const after = await txCount(source);
  const changes = (await rowChanges(source)) - changesBefore;
  line(
    `  workload: pgbench ${clients} clients ${seconds} s: ${num(pb.tx)} transactions (${pb.tps} tps in ${sec(ms)} s), ` +
      `${num(changes)} row changes, WAL ${before.lsn} .. ${after.lsn}`,
  );
  return { tx: pb.tx, rows: changes };
}

async function main(): Promise<number> {
  line(`dts apply benchmark (backlog drain), ${new Date().toISOString()}`);
  line(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  line(`pgbench: ${(await exec(clientBin('pgbench'), ['--version'], pgEnv())).stdout.trim()}`);
  const git = (a: string[]) => execFileSync('git', a, { cwd: repoRoot }).toString().trim();
  const dirty = git(['status', '--porcelain', '--', 'src']) !== '';
  line(
    `dts: commit ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ' with uncommitted changes in src/' : ''}`,
  );
  if (!args['no-build'])
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });

  const dir = mkdtempSync(join(tmpdir(), 'dts-bench-apply-'));
  let source: TestServer | undefined;
  let target: TestServer | undefined;
  let runner: Runner | undefined;
  try {
    [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
    line('source PostgreSQL 14, target 17 (test harness servers: fsync off)');
    await source.query(`CREATE DATABASE ${DB}`);
    await source.query(SCHEMA, [], DB);
    const file = join(dir, 'task.yaml');
    writeFileSync(
      file,
      `name: drain
mode: full+incremental
source:
  url: ${source.url(DB)}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${target.url(DB)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
`,
    );
    const t = target;
    const s = source;

    // In sync: the copy, then the first applied transaction (marker 1).
    runner = startDts(file);
    await until('the copy and the start of sync', () => syncing(file), 300_000, 300, runner);
    await s.query(`INSERT INTO marker VALUES (1)`, [], DB);
    await until('sync', markerOn(t, 1), 120_000, 20, runner);
    let stopped = await runner.stop();
    runner = undefined;
    if (stopped.code !== 0 && stopped.code !== 5)
      throw new Error(`dts run exited ${stopped.code}: ${stopped.stderr.slice(-1500)}`);

    const results: Drain[] = [];
    line();
    line('dts: workload while the runner is stopped, then `dts run` until the marker is applied');
    const w = await workload(s, dir, 2);
    const dtsUpdates = await targetUpdates(t);
    let t0 = performance.now();
    runner = startDts(file);
    await until('dts drain', markerOn(t, 2), 600_000, 20, runner);
    const dts = { method: 'dts', ...w, ms: performance.now() - t0, peakKb: runner.peakKb() };
    const dtsCpu = await cpuReport(s, t, dts.ms, runner.pid);
    stopped = await runner.stop();
    runner = undefined;
    results.push(dts);
    report(dts);
    line(dtsCpu);
    line(hotLine(dtsUpdates, await targetUpdates(t)));
    const [ds, dt] = await Promise.all([digest(s), digest(t)]);
    line(`  target ${ds === dt ? 'equals' : 'DIFFERS FROM'} the source (count and md5 of every table)`);
    if (ds !== dt) return 1;

    if (bigRows > 0) {
      line();
      line(`dts: one source transaction of ${num(bigRows)} INSERTed rows, then \`dts run\``);
      await s.query(
        `INSERT INTO bulk SELECT g, md5(g::text), g * 1.5 FROM generate_series(1, ${bigRows}) g`,
        [],
        DB,
      );
      await s.query(`INSERT INTO marker VALUES (3)`, [], DB);
      t0 = performance.now();
      runner = startDts(file);
      await until('dts drain', markerOn(t, 3), 1_200_000, 100, runner);
      const big = {
        method: 'dts, one big transaction',
        tx: 1,
        rows: bigRows,
        ms: performance.now() - t0,
        peakKb: runner.peakKb(),
      };
      const bigCpu = await cpuReport(s, t, big.ms, runner.pid);
      await runner.stop();
      runner = undefined;
      report(big);
      line(bigCpu);
      results.push(big);
    }

    if (liveSeconds > 0) {
      line();
      line(`dts: lag under a live workload (runner in sync, pgbench at full speed)`);
      runner = startDts(file);
      await s.query(`INSERT INTO marker VALUES (5)`, [], DB);
      await until('dts sync', markerOn(t, 5), 600_000, 20, runner);
      await liveLag('dts', s, t, dir, `SELECT max(lsn)::text AS l FROM _dts.apply_position`, 6);
      await runner.stop();
      runner = undefined;
    }

    if (!args['no-native']) {
      line();
      line('native: CREATE SUBSCRIPTION (enabled = false, copy_data = false), workload, ENABLE');
      const c = await exec(process.execPath, [DTS_BIN, 'cancel', file], { ...process.env, ...env });
      if (c.code !== 0) throw new Error(`dts cancel exited ${c.code}: ${c.stderr.slice(-1000)}`);
      await s.query(`CREATE PUBLICATION native_pub FOR TABLE accounts, history, bulk, marker`, [], DB);
      await t.query(
        `CREATE SUBSCRIPTION native_sub CONNECTION '${conninfo(s, DB)} password=${SUPERUSER_PASSWORD}'
         PUBLICATION native_pub WITH (enabled = false, copy_data = false)`,
        [],
        DB,
      );
      const nw = await workload(s, dir, 4);
      const nativeUpdates = await targetUpdates(t);
      t0 = performance.now();
      await t.query(`ALTER SUBSCRIPTION native_sub ENABLE`, [], DB);
      await until('native drain', markerOn(t, 4), 600_000);
      const native = { method: 'native', ...nw, ms: performance.now() - t0 };
      const nativeCpu = await cpuReport(s, t, native.ms, undefined);
      report(native);
      line(nativeCpu);
      line(hotLine(nativeUpdates, await targetUpdates(t)));
      results.push(native);
      const [ns, nt] = await Promise.all([digest(s), digest(t)]);
      line(`  target ${ns === nt ? 'equals' : 'DIFFERS FROM'} the source (count and md5 of every table)`);
      if (liveSeconds > 0) {
        line();
        line(`native: lag under a live workload (subscription in sync, pgbench at full speed)`);
        await liveLag(
          'native',
          s,
          t,
          dir,
          `SELECT max(remote_lsn)::text AS l FROM pg_catalog.pg_replication_origin_status`,
          7,
        );
      }
      await t.query(`ALTER SUBSCRIPTION native_sub DISABLE`, [], DB);
      await t.query(`DROP SUBSCRIPTION native_sub`, [], DB);
    }

    line();
    line('summary');
    for (const r of results) report(r);
    const native = results.find((r) => r.method === 'native');
    if (native) {
      const ratio = dts.tx / dts.ms / (native.tx / native.ms);
      line(
        `  dts / native drain rate: ${ratio.toFixed(2)}  target "at least as fast as native": ${ratio >= 1 ? 'MET' : 'NOT MET'}`,
      );
    }
    const peak = Math.max(...results.map((r) => r.peakKb ?? 0));
    line(
      `  dts peak RSS ${(peak / 1024).toFixed(0)} MB  target "under 200 MB": ${peak < 200 * 1024 ? 'MET' : 'NOT MET'}`,
    );
    return 0;
  } finally {
    await runner?.stop().catch(() => undefined);
    await Promise.all([source?.stop(), target?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `dts status --json` says the runner is syncing. */
async function syncing(file: string): Promise<boolean> {
  const r = await exec(process.execPath, [DTS_BIN, 'status', file, '--json'], { ...process.env, ...env });
  if (r.code !== 0) return false;
  const s = JSON.parse(r.stdout) as { condition?: string; phase?: string };
  return s.condition === 'running' && s.phase === 'syncing';
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
