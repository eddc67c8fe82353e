import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUPERUSER_PASSWORD, type TestServer } from '../../test/harness/pg-server.js';

/** How a child process ended, with its output and wall time. */
export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Run a program (no shell) with exactly `env`; never rejects on a non-zero exit, only on spawn failure. */
export function exec(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  onSpawn?: (pid: number) => void,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('spawn', () => child.pid !== undefined && onSpawn?.(child.pid));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

/**
 * `a | b` without a shell: b's stdin is a's stdout, so the bytes go from one process to the other and
 * never through this one. Both exit codes must be 0 for `code` to be 0 (like `set -o pipefail`).
 */
export function execPipe(
  a: readonly [string, readonly string[]],
  b: readonly [string, readonly string[]],
  env: NodeJS.ProcessEnv,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const first = spawn(a[0], a[1], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const second = spawn(b[0], b[1], { env, stdio: [first.stdout, 'pipe', 'pipe'] });
    // b holds its own copy of the descriptor now; ours would keep a's 'close' from ever firing.
    first.stdout.destroy();
    let stdout = '';
    let stderr = '';
    first.stderr.on('data', (d) => (stderr += d));
    second.stdout.on('data', (d) => (stdout += d));
    second.stderr.on('data', (d) => (stderr += d));
    const codes: (number | null)[] = [];
    const done = (code: number | null) => {
      codes.push(code);
      if (codes.length === 2)
        resolve({ code: codes.find((c) => c !== 0) ?? 0, stdout, stderr, ms: performance.now() - t0 });
    };
    first.on('error', reject);
    second.on('error', reject);
    first.on('close', done);
    second.on('close', done);
  });
}

/** The end of a child's output, for an error message (output is ours: no passwords, no row data). */
export const tail = (r: ExecResult, n = 1500) => (r.stderr.trim() || r.stdout.trim()).slice(-n);

/** Throw when a child failed, quoting what it said. */
export function check(what: string, r: ExecResult): ExecResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${tail(r)}`);
  return r;
}

/** A libpq conninfo without a password: the password travels in PGPASSWORD only. */
export const conninfo = (s: TestServer, database: string) =>
  `host=${s.host} port=${s.port} user=postgres dbname=${database} sslmode=disable`;

/** The environment of a libpq client (psql, pg_dump, pg_restore): PATH, HOME and PGPASSWORD only. */
export const pgEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  LC_ALL: 'C',
  PGPASSWORD: SUPERUSER_PASSWORD,
});

const GNU_TIME = '/usr/bin/time';

/**
 * Run a process and measure its peak RSS: GNU time's "Maximum resident set size" (exact, from wait4) when
 * /usr/bin/time exists, else VmHWM from /proc/<pid>/status polled every 50 ms (may miss a last spike).
 */
export async function execWithPeakRss(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ExecResult & { readonly peakRssKb: number; readonly rssBy: string }> {
  if (existsSync(GNU_TIME)) {
    const dir = mkdtempSync(join(tmpdir(), 'dts-bench-time-'));
    const out = join(dir, 'time.txt');
    try {
      const r = await exec(GNU_TIME, ['-v', '-o', out, file, ...args], env);
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(
        existsSync(out) ? readFileSync(out, 'utf8') : '',
      );
      return { ...r, peakRssKb: m ? Number(m[1]) : NaN, rssBy: '/usr/bin/time -v' };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  let peak = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const r = await exec(file, args, env, (pid) => {
    timer = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // exited between polls
      }
    }, 50);
  });
  clearInterval(timer);
  return { ...r, peakRssKb: peak, rssBy: 'VmHWM polled every 50 ms' };
}

/** A program on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * A PostgreSQL client program (psql, pg_dump, pg_restore): the newest /usr/lib/postgresql/<major>/bin
 * copy when there is one, which is what Debian's /usr/bin/<name> runs too, but through pg_wrapper, a Perl
 * script whose start-up would be charged to every per-table psql of the COPY pipe. Else the name on PATH.
 */
export function clientBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return majors.length ? join(root, majors[0]!, 'bin', name) : name;
}
