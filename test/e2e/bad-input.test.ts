import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa } from '../harness/certs.js';
import { runDts } from '../harness/cli.js';
import { openSession, startServer, type TestServer } from '../harness/pg-server.js';
import { env } from '../integration/state/helpers.js';

/**
 * Wrong input, one case each: the exact message users see, its hint, the exit code, and that neither
 * server changed (databases, slots, publications, dts state and the source's tables). The README table
 * "When input is wrong" lists the same cases.
 */

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-bad-input-e2e-'));
const ca = makeCa();
const otherCa = makeCa('another CA');
writeFileSync(join(dir, 'other-ca.pem'), otherCa.caCert);

beforeAll(async () => {
  [source, target] = await Promise.all([
    startServer({ version: 14, tls: { cert: ca.serverCert, key: ca.serverKey } }),
    startServer({ version: 17 }),
  ]);
  await source.query(`CREATE DATABASE shop`);
  await source.query(
    `CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders VALUES (1, 'a')`,
    [],
    'shop',
  );
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

/** What a failed command must leave as it was, on both servers. */
async function footprint(): Promise<string> {
  // One session per server and database, opened on first use (a connection costs more than a query).
  const sessions = new Map<string, Promise<pg.Client>>();
  try {
    return await footprintOn(sessions);
  } finally {
    for (const c of sessions.values()) await (await c).end();
  }
}

async function footprintOn(sessions: Map<string, Promise<pg.Client>>): Promise<string> {
  const q = async (s: TestServer, sql: string, db = 'postgres') => {
    const key = `${s.port}/${db}`;
    if (!sessions.has(key)) sessions.set(key, openSession(s, db));
    return JSON.stringify((await (await sessions.get(key)!).query(sql)).rows);
  };
  const dbs = `SELECT datname FROM pg_database ORDER BY 1`;
  const targetDbs = (JSON.parse(await q(target, dbs)) as { datname: string }[]).map((r) => r.datname);
  const parts = [
    await q(source, dbs),
    await q(source, `SELECT slot_name FROM pg_replication_slots ORDER BY 1`),
    await q(source, `SELECT pubname FROM pg_publication ORDER BY 1`, 'shop'),
    await q(
      source,
      `SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1`,
      'shop',
    ),
    await q(source, `SELECT * FROM orders ORDER BY 1`, 'shop'),
    JSON.stringify(targetDbs),
  ];
  for (const db of targetDbs.filter((d) => !d.startsWith('template')))
    parts.push(
      await q(
        target,
        `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND c.relkind IN ('r', 'p') ORDER BY 1, 2`,
        db,
      ),
    );
  for (const db of targetDbs.filter((d) => !d.startsWith('template')))
    if (JSON.parse(await q(target, `SELECT 1 FROM pg_namespace WHERE nspname = '_dts'`, db)).length)
      parts.push(await q(target, `SELECT json_agg(t ORDER BY t::text) AS rows FROM _dts.tasks t`, db));
  return parts.join('\n');
}

function task(
  name: string,
  opts: { source?: string; sourceExtra?: string; top?: string; objects?: string } = {},
): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `name: ${name}
${opts.top ?? ''}mode: full
source:
  url: ${opts.source ?? source.url('shop')}
  password: \${DTS_SOURCE_PASSWORD}
${opts.sourceExtra ?? '  sslmode: disable'}
target:
  url: ${target.url('shop')}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
${opts.objects ?? ''}`,
  );
  return f;
}

function raw(name: string, text: string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, text);
  return f;
}

/** The two FAIL lines (plain and replication connection) and the closing lines of a refused `dts run`. */
function connectFailure(what: string, fix: string): string[] {
  return [
    `  FAIL  source.connect                 source: ${what}`,
    `                                       fix: ${fix}`,
    `  FAIL  source.replication_connection  source: ${what}`,
  ];
}

describe('bad input: a one-line error, a hint, a documented exit code, nothing changed', () => {
  it.each([
    {
      name: 'malformed YAML',
      args: () => ['run', raw('malformed', 'name: bad\nmode: [full\n')],
      code: 2,
      stderr: (f: string) =>
        `error: ${f}: the task file is not valid YAML (1 problem)\n` +
        '  (file) (line 3): Flow sequence in block collection must be sufficiently indented and end with a ]\n' +
        'hint: fix the lines above; `dts create` writes a valid task and schema/task.schema.json helps editors\n',
    },
    {
      name: 'a wrong type',
      args: () => ['run', task('wrongtype', { objects: 'options:\n  parallel: many\n' })],
      code: 2,
      stderr: (f: string) =>
        `error: ${f}: the task file is not valid (1 problem)\n` +
        '  options.parallel (line 12): expected number\n' +
        'hint: fix the lines above; `dts create` writes a valid task and schema/task.schema.json helps editors\n',
    },
    {
      name: 'an unknown key',
      args: () => ['run', task('unknownkey', { top: 'mdoe: full\n' })],
      code: 2,
      stderr: (f: string) =>
        `error: ${f}: the task file is not valid (1 problem)\n` +
        '  mdoe (line 2): unknown key; did you mean "mode"?\n' +
        'hint: fix the lines above; `dts create` writes a valid task and schema/task.schema.json helps editors\n',
    },
    {
      name: 'a missing env reference',
      args: () => ['run', task('missingenv')],
      env: { DTS_SOURCE_PASSWORD: undefined },
      code: 1,
      stdout: connectFailure(
        'the environment variable DTS_SOURCE_PASSWORD is not set',
        'export DTS_SOURCE_PASSWORD=... before running dts (the task file refers to it as ${DTS_SOURCE_PASSWORD})',
      ),
    },
    {
      name: 'a wrong password',
      args: () => ['run', task('wrongpw')],
      env: { DTS_SOURCE_PASSWORD: 'not-the-password' },
      code: 1,
      stdout: () =>
        connectFailure(
          `password authentication failed for user "postgres" at 127.0.0.1:${source.port}`,
          'check the value of the environment variable DTS_SOURCE_PASSWORD',
        ),
    },
    {
      name: 'an unreachable host',
      args: () => ['run', task('unreachable', { source: 'postgresql://postgres@127.0.0.1:1/shop' })],
      code: 1,
      stdout: connectFailure(
        'connection refused at 127.0.0.1:1',
        'check that the server is running and listens on that address and port (listen_addresses, port, firewall)',
      ),
    },
    {
      name: 'TLS: the server does not offer it',
      args: () => ['run', task('notls', { source: target.url('shop'), sourceExtra: '  sslmode: require' })],
      code: 1,
      stdout: () =>
        connectFailure(
          `the server at 127.0.0.1:${target.port} does not accept TLS connections`,
          'set sslmode: disable (or prefer) for the source, or enable ssl on the server',
        ),
    },
    {
      name: 'TLS: a certificate from another CA',
      args: () => [
        'run',
        task('wrongca', {
          sourceExtra: `  sslmode: verify-full\n  sslrootcert: ${join(dir, 'other-ca.pem')}`,
        }),
      ],
      code: 1,
      stdout: () =>
        connectFailure(
          `TLS to 127.0.0.1:${source.port} failed: unable to verify the first certificate`,
          'check sslmode and sslrootcert for the source',
        ),
    },
    {
      name: 'an unknown database in the selection',
      args: () => ['run', task('nodb', { objects: 'objects:\n  databases: [nope]\n' })],
      code: 1,
      stdout: [
        '  FAIL  selection.unknown  nope: unknown database in the selection: nope does not exist on the source',
      ],
    },
    {
      name: 'an unknown schema in the selection',
      args: () => ['run', task('noschema', { objects: "objects:\n  include: ['nope.*']\n" })],
      code: 1,
      stdout: [
        '  FAIL  selection.unknown  source: unknown table in the selection: include pattern "nope.*" matches nothing in any selected database',
      ],
    },
    {
      name: 'an unknown table in the selection',
      args: () => ['run', task('notable', { objects: "objects:\n  include: ['public.nope*']\n" })],
      code: 1,
      stdout: [
        '  FAIL  selection.unknown  source: unknown table in the selection: include pattern "public.nope*" matches nothing in any selected database',
      ],
    },
    {
      name: 'complete on a task that is not syncing (mode full)',
      args: () => ['complete', task('notsyncing')],
      code: 5,
      stderr: (f: string) =>
        'error: task notsyncing is not syncing (it has not run on this target); nothing to complete\n' +
        `hint: dts complete needs \`dts run ${f}\` running in phase syncing (mode: full+incremental); \`dts status ${f}\` shows where the task is\n`,
    },
    {
      name: 'a scheduled time in the past (create)',
      args: () => [
        'create',
        '--name',
        'past',
        '--mode',
        'full',
        '--schedule',
        '2020-01-01T00:00:00+00:00',
        '--source',
        source.url('shop'),
        '--target',
        target.url('shop'),
        '-o',
        join(dir, 'past.yaml'),
      ],
      code: 2,
      stderr: () =>
        'error: dts create: 1 option missing or invalid\n' +
        '  --schedule: the time is in the past; leave --schedule out to start at once\n' +
        'hint: pass them as flags (see dts create --help), or run dts create in a terminal to be asked\n',
    },
  ])('$name: exit $code', async (c) => {
    const before = await footprint();
    const args = c.args();
    const file = args[1]!;
    const r = await runDts(args, { env: { ...env, ...(c.env ?? {}) } });
    if (c.stderr) expect(r.stderr).toBe(c.stderr(file));
    if (c.stdout) {
      const lines = typeof c.stdout === 'function' ? c.stdout() : c.stdout;
      for (const l of lines) expect(r.stdout.split('\n')).toContain(l);
      expect(r.stderr).toContain(
        'not started: validate found problems (fix them, or --no-validate to skip the checks)',
      );
    }
    expect(r.stderr).not.toMatch(/\n\s+at /); // never a stack trace
    expect(r.code).toBe(c.code);
    expect(await footprint()).toBe(before);
  });

  it('a damaged state schema on the target: exit 4 with a hint naming _dts, for run, status, cancel and complete', async () => {
    const file = task('damaged');
    const ok = await runDts(['run', file], { env });
    expect(ok.code).toBe(0);
    await target.query(`ALTER TABLE _dts.tasks DROP COLUMN phase`, [], 'shop');
    const before = await footprint();
    for (const [command, doing] of [
      ['run', 'taking the runner lock'],
      ['status', 'reading the _dts state'],
      ['cancel', 'reading the _dts state'],
      ['complete', 'reading the _dts state'],
    ] as const) {
      const r = await runDts([command, file], { env });
      expect(r.stderr, command).toBe(
        `error: target: ${doing} failed: column "phase" does not exist (SQLSTATE 42703)\n` +
          'hint: the _dts schema in the target database was changed by hand or by another dts version; restore it from a backup, or drop it (DROP SCHEMA _dts CASCADE) to forget the progress of every task there\n',
      );
      expect(r.code, command).toBe(4);
    }
    expect(await footprint()).toBe(before);
  });
});
