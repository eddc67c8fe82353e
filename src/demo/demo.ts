import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quoteQualified } from '../pg/quote.js';
import { hasVersion, startLocalServer, type LocalServer, type PgVersion } from './servers.js';

/** What the demo needs from the CLI: a way to run a dts command in-process, and to tell the user. */
export interface DemoDeps {
  readonly dts: (args: string[], env: NodeJS.ProcessEnv) => Promise<number>;
  readonly say: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Keep the servers running until this promise settles (`--keep`). */
  readonly keepUntil?: () => Promise<void>;
}

export interface DemoResult {
  readonly source: PgVersion;
  readonly target: PgVersion;
  readonly taskFile: string;
  readonly tables: number;
  readonly equal: boolean;
  readonly exitCode: number;
}

const FIXTURES = new URL('../../fixtures/', import.meta.url);

/** Incremental sync needs a key or replica identity on every table, and WAL for it (not UNLOGGED). */
const EXCLUDED = ['nokey.raw_import', 'app.cache_entries'];

/** 14 -> 17 (a major-version upgrade) when a development checkout has both, else the default version twice. */
async function pickVersions(): Promise<[PgVersion, PgVersion]> {
  if ((await hasVersion(14)) && (await hasVersion(17))) return [14, 17];
  return [18, 18];
}

/** Every ordinary table, digested as count + md5 of its sorted rows, on one server. */
async function digests(server: LocalServer, database: string): Promise<Map<string, string>> {
  const tables = await server.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_dts')
       AND n.nspname !~ '^pg_toast' ORDER BY 1, 2`,
    [],
    database,
  );
  const out = new Map<string, string>();
  for (const t of tables.rows) {
    const name = quoteQualified(t.schema, t.name);
    const r = await server.query<{ d: string }>(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text COLLATE "C")), '') AS d
       FROM ONLY ${name} t`,
      [],
      database,
    );
    out.set(name, r.rows[0]!.d);
  }
  return out;
}

/** Resolves once the task's runner has finished the copy and is streaming changes. */
async function syncing(target: LocalServer): Promise<void> {
  for (;;) {
    const r = await target
      .query<{ phase: string }>(`SELECT phase FROM _dts.tasks WHERE task = 'shop'`, [], 'shop')
      .catch(() => ({ rows: [] as { phase: string }[] }));
    if (r.rows[0]?.phase === 'syncing') return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Inserts, updates and deletes on the live source, one small transaction each. */
async function workload(source: LocalServer): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await source.query(
      `BEGIN;
       INSERT INTO app.events (occurred_at, kind, payload, tags)
         SELECT now(), 'demo', jsonb_build_object('round', ${i}), ARRAY['demo'] FROM generate_series(1, 3);
       UPDATE app.customers SET "CustomerCode" = 'demo-${i}' WHERE id = (SELECT min(id) + ${i % 20} FROM app.customers);
       DELETE FROM app.events WHERE id = (SELECT min(id) FROM app.events WHERE kind = 'demo');
       COMMIT`,
      [],
      'shop',
    );
  }
}

/**
 * `dts demo`: two throwaway servers, dts's own fixture database in the source (every common object kind,
 * edge values), then `dts validate`, `dts run` (copy, then sync while a workload writes to the source),
 * `dts status` and `dts complete` exactly as a user types them, and a row-for-row check.
 */
export async function demo(deps: DemoDeps): Promise<DemoResult> {
  const [sv, tv] = await pickVersions();
  const password = randomBytes(18).toString('base64url');
  deps.say(`starting PostgreSQL ${sv} (source) and ${tv} (target) in temporary folders ...`);
  const [source, target] = await Promise.all([
    startLocalServer({ version: sv, password }),
    startLocalServer({ version: tv, password }),
  ]);
  try {
    deps.say(
      'loading the sample database "shop" into the source (dts fixtures: every common object kind) ...',
    );
    await source.query('CREATE DATABASE shop');
    for (const f of ['source-schema.sql', 'source-data.sql']) {
      await source.query(readFileSync(new URL(f, FIXTURES), 'utf8'), [], 'shop');
    }
    // Roles are global: a DBA creates them on the target first (dts reports missing ones in validate).
    await target.query('CREATE ROLE dts_fixture_owner NOLOGIN; CREATE ROLE dts_fixture_reader NOLOGIN');
    const dir = mkdtempSync(join(tmpdir(), 'dts-demo-'));
    const taskFile = join(dir, 'shop.yaml');
    writeFileSync(
      taskFile,
      `# Written by dts demo: the sample database moves from PostgreSQL ${sv} to ${tv}.
name: shop
mode: full+incremental
source:
  url: ${source.url('shop')}
  password: \${DTS_DEMO_PASSWORD}
  sslmode: disable
target:
  url: ${target.url('shop')}
  password: \${DTS_DEMO_PASSWORD}
  sslmode: disable
objects:
  exclude: [${EXCLUDED.join(', ')}]
`,
    );
    // Password references are read from this process's environment when dts connects.
    process.env.DTS_DEMO_PASSWORD = password;
    const env = { ...deps.env, DTS_DEMO_PASSWORD: password };
    deps.say(`task file: ${taskFile}\n`);
    deps.say(`$ dts validate ${taskFile}`);
    let exitCode = await deps.dts(['validate', taskFile], env);
    let tables = 0;
    let equal = false;
    if (exitCode === 0) {
      deps.say(`\n$ dts run ${taskFile}      (copies, then keeps the target in sync until dts complete)`);
      const running = deps.dts(['run', '--no-validate', taskFile], env);
      exitCode = await Promise.race([running, syncing(target).then(() => -1)]);
      if (exitCode === -1) {
        deps.say('\n-- the source keeps taking writes while dts syncs: 50 transactions --');
        await workload(source);
        deps.say(`\n$ dts status ${taskFile}`);
        await deps.dts(['status', taskFile], env);
        deps.say(`\n$ dts complete ${taskFile}`);
        const completed = await deps.dts(['complete', taskFile], env);
        exitCode = await running;
        if (exitCode === 0) exitCode = completed;
      }
    }
    if (exitCode === 0) {
      const [s, t] = await Promise.all([digests(source, 'shop'), digests(target, 'shop')]);
      for (const name of EXCLUDED) s.delete(quoteQualified(...(name.split('.') as [string, string])));
      tables = s.size;
      const differing = [...s].filter(([name, d]) => t.get(name) !== d).map(([name]) => name);
      equal = differing.length === 0;
      deps.say(
        equal
          ? `\nchecked: all ${tables} tables are equal row for row on the source and the target`
          : `\nchecked: ${differing.length} tables differ: ${differing.join(', ')}`,
      );
      if (!equal) exitCode = 1;
    }
    if (deps.keepUntil) {
      deps.say(`\nsource ${source.url('shop')}\ntarget ${target.url('shop')}`);
      deps.say('the password is in DTS_DEMO_PASSWORD inside dts only; press Ctrl-C to stop the servers');
      await deps.keepUntil();
    }
    return { source: sv, target: tv, taskFile, tables, equal, exitCode };
  } finally {
    delete process.env.DTS_DEMO_PASSWORD;
    await Promise.all([source.stop(), target.stop()]);
  }
}
