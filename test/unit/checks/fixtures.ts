import { fact, type Relation, type ServerInfo, type SourceDatabase } from '../../../src/catalog/types.js';
import { DEFAULT_LIMITS, type DatabaseFacts, type Facts } from '../../../src/checks/facts.js';
import type { Mode, Task } from '../../../src/task/types.js';

/** Facts of a healthy 14 -> 17 pair with one database `shop`; tests override what they judge. */

let nextOid = 16384;

export function relation(schema: string, name: string, over: Partial<Relation> = {}): Relation {
  return {
    oid: nextOid++,
    schema,
    name,
    kind: 'table',
    owner: 'app',
    unlogged: false,
    replicaIdentity: 'default',
    hasPrimaryKey: true,
    identityCandidates: [],
    rules: [],
    parents: [],
    isPartition: false,
    totalBytes: 8192,
    canSelect: true,
    ownedByMe: true,
    originTriggers: [],
    actingForeignKeys: [],
    grantees: [],
    generatedColumns: [],
    ownedByTable: undefined,
    dependsOn: [],
    ...over,
  };
}

export function server(over: Partial<ServerInfo> = {}): ServerInfo {
  return {
    versionNum: 140022,
    version: '14.22',
    database: 'shop',
    encrypted: false,
    tlsVersion: undefined,
    inRecovery: false,
    role: { name: 'app', superuser: false, replication: true, createDb: true, cloudRoles: [] },
    ...over,
  };
}

export function sourceDb(over: Partial<SourceDatabase> = {}): SourceDatabase {
  return {
    name: 'shop',
    relations: [],
    schemas: [{ name: 'public', owner: 'app', canUse: true, grantees: [] }],
    foreignKeys: [],
    largeObjects: 0,
    largeObjectOwners: [],
    cFunctions: [],
    extensions: [],
    publications: [],
    objects: [],
    ...over,
  };
}

/** One database whose selection is all of its relations (tests pick `selected` when they need less). */
export function database(src: SourceDatabase, over: Partial<DatabaseFacts> = {}): DatabaseFacts {
  return {
    name: src.name,
    targetName: src.name,
    source: fact(src),
    selected: src.relations,
    target: fact(undefined),
    targetWrites: fact([]),
    ...over,
  };
}

const settings = (values: Record<string, string>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, unit: undefined }]));

export const SOURCE_SETTINGS = {
  wal_level: 'logical',
  max_replication_slots: '10',
  max_wal_senders: '10',
  wal_sender_timeout: '60000',
  max_slot_wal_keep_size: '-1',
  hot_standby_feedback: 'off',
  statement_timeout: '0',
  idle_in_transaction_session_timeout: '0',
  TimeZone: 'UTC',
};

export function facts(
  over: Partial<Facts> & { databases?: DatabaseFacts[]; settings?: Record<string, string> } = {},
): Facts {
  const { databases, settings: s, ...rest } = over;
  const src = server();
  const tgt = server({ versionNum: 170010, version: '17.10' });
  return {
    limits: DEFAULT_LIMITS,
    sourceConnection: { ok: true, value: src },
    source: fact(src),
    sourceSettings: fact(settings({ ...SOURCE_SETTINGS, ...s })),
    sourceSlots: fact([]),
    sourceActivity: fact({ walSendersInUse: 0, transactions: [], prepared: [] }),
    sourceDatabases: fact([
      {
        name: 'shop',
        allowConnections: true,
        isTemplate: false,
        encoding: 'UTF8',
        collate: 'C',
        ctype: 'C',
        canCreate: true,
        canConnect: true,
      },
    ]),
    replication: { ok: true, value: { systemId: '1', timeline: 1, walPosition: '0/1' } },
    targetConnection: { ok: true, value: { info: tgt, missingDatabase: undefined } },
    target: fact(tgt),
    targetSettings: fact(settings({ ...SOURCE_SETTINGS })),
    targetDatabases: fact([
      {
        name: 'template1',
        allowConnections: true,
        isTemplate: true,
        encoding: 'UTF8',
        collate: 'C',
        ctype: 'C',
        canCreate: true,
        canConnect: true,
      },
    ]),
    targetRoles: fact(['app', 'postgres']),
    targetRoleAccess: fact([
      { name: 'app', superuser: false, ownable: true },
      { name: 'postgres', superuser: true, ownable: false },
    ]),
    targetExtensions: fact([]),
    targetReplicationRole: fact(undefined),
    selection: fact({ databases: databases ?? [database(sourceDb())], unknownDatabases: [], unmatched: [] }),
    ...rest,
  };
}

export function task(mode: Mode = 'full+incremental', options: Partial<Task['options']> = {}): Task {
  const endpoint = {
    host: 'db',
    port: 5432,
    user: 'app',
    database: 'shop',
    password: { kind: 'default' as const },
    sslmode: 'disable' as const,
    sslrootcert: undefined,
    sslcert: undefined,
    sslkey: undefined,
    ssh: undefined,
  };
  return {
    name: 'move-shop',
    file: '/tasks/move-shop.yaml',
    schedule: undefined,
    mode,
    source: endpoint,
    target: { ...endpoint, host: 'new-db' },
    objects: { databases: [{ name: 'shop', include: [], exclude: [] }], include: [], exclude: [] },
    options: {
      parallel: 2,
      namePrefix: 'dts',
      splitTableBytes: 1024 ** 3,
      missingRoles: 'error',
      roleMap: {},
      ...options,
    },
  };
}
