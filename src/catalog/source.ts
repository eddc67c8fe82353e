import type pg from 'pg';
import * as sql from './sql.js';
import type {
  Activity,
  NamedObject,
  Relation,
  RelationKind,
  ReplicaIdentity,
  ReplicationIdentity,
  ReplicationSlot,
  SourceDatabase,
} from './types.js';

const KIND: Record<string, RelationKind> = {
  r: 'table',
  p: 'partitioned table',
  f: 'foreign table',
  v: 'view',
  m: 'materialized view',
  S: 'sequence',
};

const IDENTITY: Record<string, ReplicaIdentity> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

/** pg_class.relkind as a domain kind; shared with the target reader. */
export function relationKind(relkind: string): RelationKind {
  const kind = KIND[relkind];
  if (!kind) throw new Error(`unexpected relkind ${relkind}`);
  return kind;
}

const numbers = (a: unknown): number[] => ((a as unknown[] | null) ?? []).map(Number);
const strings = (a: unknown): string[] => ((a as unknown[] | null) ?? []).map(String);

/** Slots of the whole instance, with the WAL each keeps. */
export async function readReplicationSlots(
  client: pg.Client,
  versionNum: number,
): Promise<readonly ReplicationSlot[]> {
  const { rows } = await client.query(
    versionNum >= 130000 ? sql.REPLICATION_SLOTS_13 : sql.REPLICATION_SLOTS_10,
  );
  return rows.map((r) => ({
    name: String(r.name),
    type: r.type === 'physical' ? 'physical' : 'logical',
    active: Boolean(r.active),
    database: r.database ?? undefined,
    retainedBytes: r.retained_bytes === null ? undefined : Number(r.retained_bytes),
    walStatus: r.wal_status ?? undefined,
  }));
}

export async function readActivity(client: pg.Client): Promise<Activity> {
  const senders = await client.query(sql.WAL_SENDERS_IN_USE);
  const open = await client.query(sql.OPEN_TRANSACTIONS);
  const prepared = await client.query(sql.PREPARED_TRANSACTIONS);
  return {
    walSendersInUse: Number(senders.rows[0]?.n ?? 0),
    transactions: open.rows.map((r) => ({
      pid: Number(r.pid),
      database: r.database ?? undefined,
      user: r.user ?? undefined,
      state: r.state ?? undefined,
      ageSeconds: Number(r.age_seconds),
    })),
    prepared: prepared.rows.map((r) => ({
      gid: String(r.gid),
      database: String(r.database),
      owner: String(r.owner),
      ageSeconds: Number(r.age_seconds),
    })),
  };
}

/** Functions, indexes, triggers and types by name (both sides use this for clash detection). */
export async function readNamedObjects(client: pg.Client): Promise<readonly NamedObject[]> {
  const { rows } = await client.query(sql.NAMED_OBJECTS);
  return rows.map((r) => ({
    kind: r.kind as NamedObject['kind'],
    schema: String(r.schema),
    name: String(r.name),
    args: r.args ?? undefined,
    table: r.table_name ?? undefined,
  }));
}

/** Everything the checks need from one source database, on a connection to that database. */
export async function readSourceDatabase(client: pg.Client, versionNum: number): Promise<SourceDatabase> {
  const q = (text: string) => client.query(text).then((r) => r.rows);
  const database = (await q('SELECT current_database() AS name'))[0]!.name as string;
  const relations: Relation[] = (await q(versionNum >= 120000 ? sql.RELATIONS_12 : sql.RELATIONS_10)).map(
    (r) => ({
      oid: Number(r.oid),
      schema: String(r.schema),
      name: String(r.name),
      kind: relationKind(String(r.kind)),
      owner: String(r.owner),
      unlogged: Boolean(r.unlogged),
      replicaIdentity: IDENTITY[String(r.replident)] ?? 'default',
      hasPrimaryKey: Boolean(r.has_pk),
      identityCandidates: strings(r.identity_candidates),
      rules: strings(r.rules),
      parents: numbers(r.parents),
      isPartition: Boolean(r.is_partition),
      totalBytes: Number(r.total_bytes),
      canSelect: Boolean(r.can_select),
      ownedByMe: Boolean(r.owned_by_me),
      originTriggers: strings(r.origin_triggers),
      actingForeignKeys: strings(r.acting_foreign_keys),
      grantees: strings(r.grantees),
      generatedColumns: strings(r.generated_columns),
      ownedByTable: r.owned_by_table === null ? undefined : Number(r.owned_by_table),
      dependsOn: numbers(r.depends_on),
    }),
  );
  const schemas = (await q(sql.SCHEMAS)).map((r) => ({
    name: String(r.name),
    owner: String(r.owner),
    canUse: Boolean(r.can_use),
    grantees: strings(r.grantees),
  }));
  const foreignKeys = (await q(versionNum >= 110000 ? sql.FOREIGN_KEYS_11 : sql.FOREIGN_KEYS_10)).map(
    (r) => ({
      name: String(r.name),
      table: Number(r.table_oid),
      references: Number(r.references_oid),
    }),
  );
  const largeObjects = Number((await q(sql.LARGE_OBJECTS))[0]?.n ?? 0);
  const largeObjectOwners = (await q(sql.LARGE_OBJECT_OWNERS)).map((r) => ({
    owner: String(r.owner),
    count: Number(r.n),
  }));
  const cFunctions = (await q(sql.C_FUNCTIONS)).map((r) => String(r.signature));
  const extensions = (await q(sql.EXTENSIONS)).map((r) => ({
    name: String(r.name),
    version: String(r.version),
  }));
  const publications = (await q(sql.PUBLICATIONS)).map((r) => String(r.name));
  const objects = await readNamedObjects(client);
  return {
    name: database,
    relations,
    schemas,
    foreignKeys,
    largeObjects,
    largeObjectOwners,
    cFunctions,
    extensions,
    publications,
    objects,
  };
}

/** IDENTIFY_SYSTEM on a replication connection: proves pg_hba and the REPLICATION right let dts stream. */
export async function identifySystem(client: pg.Client): Promise<ReplicationIdentity> {
  const { rows } = await client.query(sql.IDENTIFY_SYSTEM);
  const r = rows[0];
  if (!r) throw new Error('IDENTIFY_SYSTEM returned no row');
  return { systemId: String(r.systemid), timeline: Number(r.timeline), walPosition: String(r.xlogpos) };
}
