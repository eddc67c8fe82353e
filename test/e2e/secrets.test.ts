import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts, type CliResult } from '../harness/cli.js';
import { startServer, type TestServer } from '../harness/pg-server.js';
import { startRun, type Background } from '../integration/state/helpers.js';

/**
 * A distinctive password, with characters URLs and shells treat specially, for a role used on both
 * servers; every output, file and process argument list dts produces is searched for it.
 */
const SECRET = `Qx7-dts-SECRET_p@ss:w/rd%41'"ü`;
const WRONG = `Wr0ng-dts-OTHER_secret:x%2F`;
const FORMS = (s: string) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64')];

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-secrets-e2e-'));
const env = { MOVER_PW: SECRET, DTS_SYNC_PROGRESS_MS: '500' };
/** Everything dts printed or wrote, with what produced it. */
const seen: { what: string; text: string }[] = [];

function record(what: string, r: CliResult): CliResult {
  seen.push({ what: `${what} (stdout)`, text: r.stdout }, { what: `${what} (stderr)`, text: r.stderr });
  return r;
}

async function dts(what: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return record(what, await runDts(args, { env: { ...env, ...extraEnv }, cwd: dir }));
}

/** The argument lists of every process on the machine (ps), as a user or a monitoring agent sees them. */
function processArgs(): string {
  return execFileSync('ps', ['-eo', 'args', '--no-headers'], { encoding: 'utf8' });
}

/** Samples the process list (and the runner's own /proc cmdline) until stopped. */
function sampleProcesses(run: Background): () => Promise<number> {
  let samples = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      seen.push({ what: 'ps -eo args while dts run is live', text: processArgs() });
      try {
        const cmdline = readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8');
        seen.push({ what: 'the runner /proc/pid/cmdline', text: cmdline });
      } catch {
        // the runner has exited
      }
      samples++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return async () => {
    stop = true;
    await loop;
    return samples;
  };
}

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  for (const s of [source, target])
    await s.query(`CREATE ROLE mover LOGIN SUPERUSER PASSWORD '${SECRET.replaceAll("'", "''")}'`);
  await source.query(`CREATE DATABASE shop`);
  await source.query(
    `CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g`,
    [],
    'shop',
  );
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

const url = (s: TestServer, db: string, password?: string) =>
  `postgresql://mover${password ? `:${encodeURIComponent(password)}` : ''}@${s.host}:${s.port}/${db}?sslmode=disable`;

describe('secrets never leak: outputs, files, state on the target, process arguments', () => {
  it('create, validate, run, status, complete, cancel and failing connections never show the password', async () => {
    // create with the password inside the URL: the file refers to the variable instead.
    const created = await dts('create --json', [
      'create',
      '--name',
      'sec',
      '--mode',
      'full+incremental',
      '--source',
      url(source, 'shop', SECRET),
      '--target',
      url(target, 'shop'),
      '--source-password-env',
      'MOVER_PW',
      '--target-password-env',
      'MOVER_PW',
      '--json',
      '-o',
      'sec.yaml',
    ]);
    expect(created.code).toBe(0);
    const file = join(dir, 'sec.yaml');
    expect(readFileSync(file, 'utf8')).toContain('${MOVER_PW}');

    const validated = await dts('validate', ['validate', file]);
    expect(validated.code).toBe(0);
    await dts('validate --json', ['validate', file, '--json']);

    const run = startRun([file, '--json'], { ...env, HOME: process.env.HOME });
    const stopSampling = sampleProcesses(run);
    try {
      let status: CliResult;
      const deadline = Date.now() + 120_000;
      do {
        status = await dts('status --json', ['status', file, '--json']);
        if (status.code === 0 && JSON.parse(status.stdout).phase === 'syncing') break;
        await new Promise((r) => setTimeout(r, 300));
      } while (Date.now() < deadline);
      await source.query(`UPDATE items SET v = v || 'x' WHERE id % 10 = 0`, [], 'shop');
      await dts('status', ['status', file]);
      const complete = await dts('complete --json', ['complete', file, '--json']);
      expect(complete.code).toBe(0);
      const ended = await run.exited;
      record('run --json', { code: ended.code, stdout: ended.stdout, stderr: ended.stderr });
      expect(ended.code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
      expect(await stopSampling()).toBeGreaterThan(3);
    }
    await dts('cancel of a completed task', ['cancel', file, '--json']);
    await dts('complete of a completed task', ['complete', file]);

    // A second task, cancelled while it copies.
    const file2 = join(dir, 'sec2.yaml');
    writeFileSync(
      file2,
      `name: sec2
mode: full
source:
  url: ${url(source, 'shop')}
  password: \${MOVER_PW}
target:
  url: ${url(target, 'shop2')}
  password: \${MOVER_PW}
`,
    );
    const run2 = startRun([file2], { ...env, DTS_TEST_COPY_DELAY_MS: '30000' });
    try {
      for (let i = 0; i < 200; i++) {
        const s = await dts('status (sec2)', ['status', file2, '--json']);
        if (s.code === 0 && JSON.parse(s.stdout).phase === 'copy') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const cancelled = await dts('cancel --drop-target --json', [
        'cancel',
        file2,
        '--drop-target',
        '--json',
      ]);
      expect(cancelled.stderr).toBe('');
      expect(cancelled.code).toBe(0);
      const ended = await run2.exited;
      record('cancelled run', { code: ended.code, stdout: ended.stdout, stderr: ended.stderr });
    } finally {
      run2.child.kill('SIGKILL');
    }

    // Failing connections: a wrong password, an unreachable host, a password written in the URL.
    const wrong = await dts('validate, wrong password', ['validate', file], { MOVER_PW: WRONG });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout + wrong.stderr).toMatch(/password authentication failed for user "mover"/);
    const wrongRun = await dts('run, wrong password', ['run', file2], { MOVER_PW: WRONG });
    expect(wrongRun.code).not.toBe(0);
    await dts('status, wrong password', ['status', file, '--json'], { MOVER_PW: WRONG });
    const inline = join(dir, 'inline.yaml');
    writeFileSync(
      inline,
      `name: inline
mode: full
source:
  url: ${url(source, 'shop', WRONG)}
target:
  url: postgresql://mover:${encodeURIComponent(SECRET)}@127.0.0.1:1/shop?sslmode=disable
`,
    );
    const inlineValidate = await dts('validate, inline passwords', ['validate', inline, '--json']);
    expect(inlineValidate.code).toBe(1);
    const inlineRun = await dts('run, inline passwords', ['run', inline]);
    expect(inlineRun.code).not.toBe(0);
    await dts('status, inline passwords', ['status', inline]);
    await dts('cancel, inline passwords', ['cancel', inline, '--json']);
    await dts('complete, inline passwords', ['complete', inline]);

    // Files dts wrote, and everything it stored on the target.
    for (const f of readdirSync(dir).filter((n) => n !== 'inline.yaml'))
      seen.push({ what: `file ${f}`, text: readFileSync(join(dir, f), 'utf8') });
    const tables = await target.query<{ t: string }>(
      `SELECT format('_dts.%I', relname) AS t FROM pg_class WHERE relnamespace = '_dts'::regnamespace AND relkind = 'r'`,
      [],
      'shop',
    );
    expect(tables.rows.length).toBeGreaterThan(3);
    for (const { t } of tables.rows) {
      const rows = await target.query(`SELECT json_agg(x)::text AS j FROM ${t} x`, [], 'shop');
      seen.push({ what: `target ${t}`, text: String(rows.rows[0]!.j) });
    }
    const apps = await source.query(`SELECT string_agg(application_name, ' ') AS a FROM pg_stat_activity`);
    seen.push({ what: 'application names', text: String(apps.rows[0]!.a) });

    const leaks = seen.flatMap(({ what, text }) =>
      [...FORMS(SECRET), ...FORMS(WRONG)].filter((s) => text.includes(s)).map(() => what),
    );
    expect(leaks).toEqual([]);
    // The search is real: the sampled process list and outputs are not empty.
    expect(seen.filter((s) => s.what.startsWith('ps')).length).toBeGreaterThan(3);
    expect(seen.map((s) => s.text).join('')).toContain('mover');
  }, 400_000);
});
