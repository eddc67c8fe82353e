import { DtsError } from '../errors.js';
import { connect, type Connection, type ConnectOptions } from '../pg/connect.js';
import { connectError, isPgServerError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import { readDatabases, readRoleAccess, readRoles, readServerInfo, readSettings } from '../catalog/server.js';
import {
  resolveDatabases,
  selectObjects,
  targetDatabaseName,
  unmatchedPatterns,
  type DatabasePatterns,
} from '../catalog/selection.js';
import { identifySystem, readActivity, readReplicationSlots, readSourceDatabase } from '../catalog/source.js';
import { probeReplicationRole, readAvailableExtensions, readTargetDatabase } from '../catalog/target.js';
import {
  fact,
  noFact,
  type DatabaseInfo,
  type Fact,
  type Relation,
  type ServerInfo,
  type TargetDatabase,
} from '../catalog/types.js';
import { readTargetWrites, type TargetWrite } from '../state/target-writes.js';
import type { Side } from '../errors.js';
import { Secret } from '../task/secret.js';
import type { Endpoint, Task } from '../task/types.js';
import { BEHAVIOUR_SETTING_NAMES } from './compatibility.js';
import type {
  ConnectFailure,
  Connected,
  DatabaseFacts,
  Facts,
  Limits,
  PrimaryFacts,
  SelectionFacts,
} from './facts.js';
import { TIMEOUT_SETTING_NAMES } from './privileges.js';
import { SOURCE_SETTING_NAMES } from './source-config.js';

const SETTING_NAMES = [...SOURCE_SETTING_NAMES, ...TIMEOUT_SETTING_NAMES, ...BEHAVIOUR_SETTING_NAMES];

/** At most this many databases are read at once, so `databases: all` on a big instance stays polite. */
const DATABASE_CONCURRENCY = 4;

function describeError(e: unknown): string {
  if (isPgServerError(e)) return `${e.message} (SQLSTATE ${e.code})`;
  return e instanceof Error ? e.message : String(e);
}

/** Run one read; its failure (a permission, a missing catalog) becomes the reason, not a throw. */
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<Fact<T>> {
  try {
    return fact(await fn());
  } catch (e) {
    return noFact(`cannot read ${what}: ${describeError(e)}`);
  }
}

/**
 * Connections for one side. Asks for a password at most once (the answer is reused for every further
 * connection) and turns every failure into the message and hint of connectError.
 */
class SideConnections {
  #endpoint: Endpoint;
  readonly #prompt: PasswordPrompt | undefined;

  constructor(
    readonly side: Side,
    endpoint: Endpoint,
    prompt: PasswordPrompt | undefined,
  ) {
    this.#endpoint = endpoint;
    this.#prompt =
      prompt &&
      (async (question: string) => {
        const answer = await prompt(question);
        this.#endpoint = { ...this.#endpoint, password: { kind: 'inline', value: new Secret(answer) } };
        return answer;
      });
  }

  async open(opts: Omit<ConnectOptions, 'side' | 'prompt'>): Promise<Connected<Connection>> {
    const database = opts.database ?? this.#endpoint.database;
    try {
      const value = await connect(this.#endpoint, {
        ...opts,
        side: this.side,
        ...(this.#prompt ? { prompt: this.#prompt } : {}),
      });
      return { ok: true, value };
    } catch (e) {
      const err =
        e instanceof DtsError ? e : connectError(e, this.side, this.#endpoint, database, !!opts.replication);
      return { ok: false, failure: toFailure(err, this.side) };
    }
  }
}

function toFailure(err: DtsError, side: Side): ConnectFailure {
  // The finding names the side as its object; the message need not repeat it.
  const message = err.message.startsWith(`${side}: `) ? err.message.slice(side.length + 2) : err.message;
  return { message, hint: err.hint, code: err.code };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Use the open connection when it is to `database`, else open (and close) another one. */
async function onDatabase<T>(
  side: SideConnections,
  main: Connection,
  database: string,
  unreachable: string,
  fn: (c: Connection) => Promise<Fact<T>>,
): Promise<Fact<T>> {
  if (main.database === database) return fn(main);
  const c = await side.open({ database });
  if (!c.ok) return noFact(`${unreachable}: ${c.failure.message}`);
  try {
    return await fn(c.value);
  } finally {
    await c.value.close();
  }
}

const NO_SOURCE = 'cannot connect to the source';
const NO_TARGET = 'cannot connect to the target';

/**
 * Read every fact the checks need, from the source, the target and a replication connection. Never
 * throws for a server problem: a failed connection or read is recorded in the facts.
 */
export async function gatherFacts(
  task: Task,
  opts: { readonly prompt?: PasswordPrompt; readonly limits: Limits },
): Promise<Facts> {
  const sourceSide = new SideConnections('source', task.source, opts.prompt);
  const targetSide = new SideConnections('target', task.target, opts.prompt);

  const [src, tgt] = await Promise.all([sourceSide.open({}), openTarget(targetSide, task.target.database)]);

  const source = src.ok
    ? await attempt('the source session', () => readServerInfo(src.value.client))
    : noFact<ServerInfo>(NO_SOURCE);
  const onSource = <T>(
    what: string,
    fn: (c: Connection, info: ServerInfo) => Promise<T>,
  ): Promise<Fact<T>> =>
    src.ok && source.ok
      ? attempt(what, () => fn(src.value, source.value))
      : Promise.resolve(noFact<T>(src.ok ? (source as { reason: string }).reason : NO_SOURCE));
  const sourceSettings = await onSource('pg_settings', (c) => readSettings(c.client, SETTING_NAMES));
  const sourceSlots = await onSource('pg_replication_slots', (c, i) =>
    readReplicationSlots(c.client, i.versionNum),
  );
  const sourceActivity = await onSource('pg_stat_activity', (c) => readActivity(c.client));
  const sourceDatabases = await onSource('pg_database', (c) => readDatabases(c.client));

  const target = tgt.ok
    ? await attempt('the target session', () => readServerInfo(tgt.value.conn.client))
    : noFact<ServerInfo>(NO_TARGET);
  const onTarget = <T>(what: string, fn: (c: Connection) => Promise<T>): Promise<Fact<T>> =>
    tgt.ok ? attempt(what, () => fn(tgt.value.conn)) : Promise.resolve(noFact<T>(NO_TARGET));
  const targetSettings = await onTarget('pg_settings', (c) => readSettings(c.client, SETTING_NAMES));
  const targetDatabases = await onTarget('pg_database', (c) => readDatabases(c.client));
  const targetRoles = await onTarget('pg_roles', (c) => readRoles(c.client));
  const targetRoleAccess = await onTarget('pg_roles membership', (c) =>
    readRoleAccess(c.client, target.ok ? target.value.versionNum : 0),
  );
  const targetExtensions = await onTarget('pg_available_extensions', (c) =>
    readAvailableExtensions(c.client),
  );
  const targetReplicationRole = await onTarget('session_replication_role', (c) =>
    probeReplicationRole(c.client),
  );

  let selection: Fact<SelectionFacts>;
  if (!src.ok || !source.ok) selection = noFact(src.ok ? `cannot read the source session` : NO_SOURCE);
  else if (!sourceDatabases.ok) selection = noFact(sourceDatabases.reason);
  else {
    selection = fact(
      await readSelection(task, sourceSide, src.value, source.value, sourceDatabases.value, {
        side: targetSide,
        conn: tgt.ok ? tgt.value.conn : undefined,
        databases: targetDatabases,
      }),
    );
  }

  let replication: Facts['replication'];
  if (task.mode !== 'structure') {
    // After reading pg_stat_replication, so dts' own walsender is not counted as in use.
    const database = selection.ok
      ? (selection.value.databases[0]?.name ?? task.source.database)
      : task.source.database;
    const r = await sourceSide.open({ database, replication: true });
    if (!r.ok) replication = r;
    else {
      try {
        replication = { ok: true, value: await identifySystem(r.value.client) };
      } catch (e) {
        replication = {
          ok: false,
          failure: {
            message: `IDENTIFY_SYSTEM failed: ${describeError(e)}`,
            hint: 'see the source server log',
          },
        };
      } finally {
        await r.value.close();
      }
    }
  }

  const sourcePrimary =
    task.sourcePrimary && task.mode !== 'structure'
      ? await readPrimary(new SideConnections('source', task.sourcePrimary, opts.prompt))
      : undefined;

  if (src.ok) await src.value.close();
  if (tgt.ok) await tgt.value.conn.close();

  return {
    limits: opts.limits,
    sourceConnection: src.ok
      ? source.ok
        ? { ok: true, value: source.value }
        : { ok: false, failure: { message: source.reason, hint: undefined } }
      : src,
    source,
    sourceSettings,
    sourceSlots,
    sourceActivity,
    sourceDatabases,
    replication,
    targetConnection: tgt.ok
      ? target.ok
        ? { ok: true, value: { info: target.value, missingDatabase: tgt.value.missingDatabase } }
        : { ok: false, failure: { message: target.reason, hint: undefined } }
      : tgt,
    target,
    targetSettings,
    targetDatabases,
    targetRoles,
    targetRoleAccess,
    targetExtensions,
    targetReplicationRole,
    selection,
    ...(sourcePrimary ? { sourcePrimary } : {}),
  };
}

/** The connected role: superuser or not, the roles it acts as (owns what they own), where it may CREATE. */
const PUBLISHER_ROLE = `
SELECT r.rolname AS name, r.rolsuper AS superuser,
       ARRAY(SELECT o.rolname::text FROM pg_catalog.pg_roles o
             WHERE pg_catalog.pg_has_role(o.oid, 'USAGE') ORDER BY 1) AS acts_as,
       ARRAY(SELECT d.datname::text FROM pg_catalog.pg_database d
             WHERE d.datallowconn AND pg_catalog.has_database_privilege(d.oid, 'CREATE') ORDER BY 1) AS create_on
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`;

/**
 * The standby's primary (`source.primary`): whether it is one, its wal_level, its system id, and the
 * rights of the role there.
 */
async function readPrimary(side: SideConnections): Promise<Connected<PrimaryFacts>> {
  const c = await side.open({});
  if (!c.ok) return c;
  try {
    const { rows } = await c.value.client.query(
      `SELECT pg_catalog.pg_is_in_recovery() AS in_recovery, pg_catalog.current_setting('wal_level') AS wal_level,
              CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
                THEN pg_catalog.has_function_privilege('pg_catalog.pg_log_standby_snapshot()', 'EXECUTE')
                ELSE false END AS can_log`,
    );
    const r = rows[0] as { in_recovery: boolean; wal_level: string; can_log: boolean };
    const systemId = await c.value.client
      .query('SELECT system_identifier::text AS id FROM pg_catalog.pg_control_system()')
      .then((x) => String((x.rows[0] as { id: string }).id))
      .catch(() => undefined);
    // The publication is made here, as this role: judge its rights here (roles are cluster-wide, and
    // database CREATE rights are read for every database from this one session).
    const role = (await c.value.client.query(PUBLISHER_ROLE)).rows[0] as {
      name: string;
      superuser: boolean;
      acts_as: string[];
      create_on: string[];
    };
    return {
      ok: true,
      value: {
        inRecovery: Boolean(r.in_recovery),
        walLevel: String(r.wal_level),
        systemId,
        canLogStandbySnapshot: Boolean(r.can_log),
        role: {
          name: String(role.name),
          superuser: Boolean(role.superuser),
          actsAs: role.acts_as.map(String),
          createOn: role.create_on.map(String),
        },
      },
    };
  } catch (e) {
    return {
      ok: false,
      failure: { message: `cannot read the primary: ${describeError(e)}`, hint: undefined },
    };
  } finally {
    await c.value.close();
  }
}

/**
 * The target database may not exist yet (dts creates it): then connect to a maintenance database to
 * read the instance, and remember which database was missing.
 */
async function openTarget(
  side: SideConnections,
  database: string,
): Promise<Connected<{ conn: Connection; missingDatabase: string | undefined }>> {
  const first = await side.open({ database });
  if (first.ok) return { ok: true, value: { conn: first.value, missingDatabase: undefined } };
  if (first.failure.code !== 'no-database') return first;
  for (const fallback of ['postgres', 'template1']) {
    if (fallback === database) continue;
    const c = await side.open({ database: fallback });
    if (c.ok) return { ok: true, value: { conn: c.value, missingDatabase: database } };
  }
  return first;
}

async function readSelection(
  task: Task,
  sourceSide: SideConnections,
  main: Connection,
  info: ServerInfo,
  databases: readonly DatabaseInfo[],
  target: { side: SideConnections; conn: Connection | undefined; databases: Fact<readonly DatabaseInfo[]> },
): Promise<SelectionFacts> {
  const resolved = resolveDatabases(task.objects, databases);
  const perDatabase = await mapLimit(resolved.databases, DATABASE_CONCURRENCY, async (patterns) => {
    const source = await onDatabase(
      sourceSide,
      main,
      patterns.database,
      'cannot connect to this source database',
      (c) => attempt('the source catalog', () => readSourceDatabase(c.client, info.versionNum)),
    );
    const picked = source.ok ? selectObjects(source.value.relations, patterns) : undefined;
    const targetName = targetDatabaseName(task.objects, task.target.database, patterns.database);
    const read = await readTarget(target, targetName, task.name);
    return {
      patterns,
      source,
      picked,
      targetName,
      target: read.ok ? fact(read.value?.catalog) : read,
      targetWrites: read.ok ? fact(read.value?.writes ?? []) : read,
    };
  });
  const facts: DatabaseFacts[] = perDatabase.map((d) => ({
    name: d.patterns.database,
    targetName: d.targetName,
    source: d.source,
    selected: selectWithSequences(d),
    target: d.target,
    targetWrites: d.targetWrites,
  }));
  const judged = perDatabase.filter(
    (d): d is typeof d & { picked: NonNullable<typeof d.picked> } => d.picked !== undefined,
  );
  return {
    databases: facts,
    unknownDatabases: resolved.unknown,
    unmatched: unmatchedPatterns(
      task.objects,
      judged.map((d) => ({ patterns: d.patterns, matched: d.picked.matched })),
    ),
  };
}

/** A sequence owned by a column (serial, identity) goes wherever its table goes. */
function selectWithSequences(d: {
  patterns: DatabasePatterns;
  source: Fact<{ relations: readonly Relation[] }>;
  picked: { selected: readonly Relation[] } | undefined;
}) {
  if (!d.source.ok || !d.picked) return [];
  const selected = new Set(d.picked.selected.map((r) => r.oid));
  return d.source.value.relations.filter((r) =>
    r.kind === 'sequence' && r.ownedByTable !== undefined
      ? selected.has(r.ownedByTable)
      : selected.has(r.oid),
  );
}

/** A target database's catalog, and what the task's write watch recorded in it (see target-writes.ts). */
async function readTarget(
  target: { side: SideConnections; conn: Connection | undefined; databases: Fact<readonly DatabaseInfo[]> },
  database: string,
  task: string,
): Promise<Fact<{ catalog: TargetDatabase; writes: readonly TargetWrite[] } | undefined>> {
  if (!target.conn) return noFact(NO_TARGET);
  if (!target.databases.ok) return noFact(target.databases.reason);
  if (!target.databases.value.some((d) => d.name === database)) return fact(undefined);
  return onDatabase(target.side, target.conn, database, 'cannot connect to this target database', (c) =>
    attempt('the target catalog', async () => ({
      catalog: await readTargetDatabase(c.client),
      writes: await readTargetWrites(c.client, task, database),
    })),
  );
}
