import { describe, expect, it } from 'vitest';
import { fact } from '../../../src/catalog/types.js';
import {
  replicationPrivilege,
  replicationRole,
  targetCreatePrivilege,
  sessionTimeouts,
  readPrivilege,
} from '../../../src/checks/privileges.js';
import {
  existingObjects,
  missingRoles,
  replicationNameClash,
  targetWrites,
} from '../../../src/checks/target.js';
import { replicaIdentity } from '../../../src/checks/objects.js';
import { replicationNames } from '../../../src/catalog/names.js';
import { judge } from './assess.js';
import { database, facts, relation, server, sourceDb, task, SOURCE_SETTINGS } from './fixtures.js';

const role = (over: Partial<ReturnType<typeof server>['role']>) =>
  server({ role: { ...server().role, ...over } });

describe('source.privilege.replication', () => {
  it.each([
    [{ superuser: true, replication: false }, 'pass', 'app is a superuser'],
    [{ replication: true }, 'pass', 'app has the REPLICATION attribute'],
    [{ replication: false, cloudRoles: ['rds_replication'] }, 'pass', 'app is a member of rds_replication'],
    [
      { replication: false },
      'fail',
      'role app cannot replicate: it is not a superuser and has no REPLICATION attribute',
    ],
  ])('%o: %s', (over, severity, message) => {
    expect(judge(replicationPrivilege, facts({ source: fact(role(over)) }), task())[0]).toMatchObject({
      severity,
      message,
    });
  });
});

describe('source.privilege.read', () => {
  it('groups tables and sequences without SELECT per schema', () => {
    const db = database(
      sourceDb({
        relations: [
          relation('public', 'a', { canSelect: false }),
          relation('public', 'a_id_seq', { kind: 'sequence', canSelect: false }),
        ],
      }),
    );
    expect(judge(readPrivilege, facts({ databases: [db] }), task())).toEqual([
      {
        severity: 'fail',
        object: 'shop.public',
        message: 'no SELECT privilege on table a and sequence a_id_seq',
        fix: 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO app; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO app',
      },
    ]);
  });
});

describe('target privileges', () => {
  it('a missing database needs CREATEDB', () => {
    const f = facts({ target: fact(role({ createDb: false })) });
    expect(judge(targetCreatePrivilege, f, task())).toEqual([
      {
        severity: 'fail',
        object: 'shop',
        message: 'the database does not exist on the target and app may not create databases',
        fix: 'ALTER ROLE app CREATEDB on the target, or create it first: CREATE DATABASE shop OWNER app',
      },
    ]);
  });

  it('session_replication_role refused is a warning', () => {
    const [f] = judge(
      replicationRole,
      facts({ targetReplicationRole: fact('permission denied to set parameter "session_replication_role"') }),
      task(),
    );
    expect(f).toMatchObject({ severity: 'warn', object: 'target' });
    expect(f!.message).toContain('target triggers and foreign keys will fire for replicated rows');
    expect(f!.fix).toContain('run as a superuser or grant SET on session_replication_role (PG15+)');
  });

  it('statement_timeout on a side warns', () => {
    const settings = Object.fromEntries(
      Object.entries({ ...SOURCE_SETTINGS, statement_timeout: '30000' }).map(([k, v]) => [
        k,
        { value: v, unit: undefined },
      ]),
    );
    expect(judge(sessionTimeouts, facts({ targetSettings: fact(settings) }), task())).toEqual([
      {
        severity: 'warn',
        object: 'target',
        message: 'statement_timeout is 30000 ms for app: a long COPY of a big table would be cancelled',
        fix: 'ALTER ROLE app SET statement_timeout = 0 on the target (or remove it from the database and server settings)',
      },
    ]);
  });
});

describe('target side', () => {
  const orders = relation('public', 'orders', { owner: 'shop_owner' });
  const src = sourceDb({
    relations: [orders],
    objects: [{ kind: 'function', schema: 'public', name: 'f', args: 'integer', table: undefined }],
  });

  it('fails a same-named table and warns a same-named function on the target', () => {
    const db = database(src, {
      target: fact({
        name: 'shop',
        relations: [{ schema: 'public', name: 'orders', kind: 'view' as const }],
        objects: [
          { kind: 'function' as const, schema: 'public', name: 'f', args: 'integer', table: undefined },
        ],
      }),
    });
    expect(
      judge(existingObjects, facts({ databases: [db] }), task()).map((f) => [
        f.severity,
        f.object,
        f.message,
      ]),
    ).toEqual([
      ['fail', 'shop.public.orders', 'a view with this name already exists in the target database'],
      [
        'warn',
        'shop',
        "function public.f(integer) already exists in the target database: creating it fails or keeps the target's version",
      ],
    ]);
  });

  it('missing owner roles: warn, pass with skip, pass when mapped', () => {
    const f = facts({ databases: [database(src)] });
    expect(judge(missingRoles, f, task())).toEqual([
      {
        severity: 'warn',
        object: 'target',
        message: 'role shop_owner owns 1 selected object but does not exist on the target',
        fix: 'CREATE ROLE shop_owner on the target, map it with options.roleMap, or set options.missingRoles: skip',
      },
    ]);
    expect(judge(missingRoles, f, task('full+incremental', { missingRoles: 'skip' }))[0]).toMatchObject({
      severity: 'pass',
      message:
        'role shop_owner owns 1 selected object but is missing on the target: they will be owned by app (missingRoles: skip)',
    });
    expect(
      judge(missingRoles, f, task('full+incremental', { roleMap: { shop_owner: 'app' } }))[0]!.severity,
    ).toBe('pass');
  });

  it('an existing slot fails in both data modes; the publication only matters for full+incremental', () => {
    const { slot, publication } = replicationNames(task(), 'shop');
    const slotFacts = facts({
      sourceSlots: fact([
        {
          name: slot,
          type: 'logical' as const,
          active: false,
          database: 'shop',
          retainedBytes: 0,
          walStatus: undefined,
        },
      ]),
    });
    for (const mode of ['full', 'full+incremental'] as const)
      expect(judge(replicationNameClash, slotFacts, task(mode))).toEqual([
        {
          severity: 'fail',
          object: 'shop',
          message: `replication slot ${slot} already exists on the source`,
          fix: `if it is left from an earlier attempt of this task, drop it: SELECT pg_drop_replication_slot('${slot}')`,
        },
      ]);
    const pubFacts = facts({ databases: [database(sourceDb({ publications: [publication] }))] });
    expect(judge(replicationNameClash, pubFacts, task('full'))[0]!.severity).toBe('pass');
    expect(judge(replicationNameClash, pubFacts, task('full+incremental'))[0]).toMatchObject({
      severity: 'fail',
      message: `publication ${publication} already exists in the source database`,
    });
  });

  it('a database whose catalog could not be read is an error for that database only', () => {
    const broken = database(sourceDb({ name: 'crm' }), {
      source: { ok: false, reason: 'cannot read the source catalog: permission denied for table pg_class' },
    });
    const out = judge(replicaIdentity, facts({ databases: [database(sourceDb()), broken] }), task());
    expect(out).toEqual([
      {
        severity: 'error',
        object: 'crm',
        message: 'not run: cannot read the source catalog: permission denied for table pg_class',
      },
    ]);
  });
});

describe('target.writes_during_sync', () => {
  const write = (operation: 'INSERT' | 'DELETE', transactions: number, lastAt: string) => ({
    database: 'shop',
    table: 'public."Order Lines"',
    operation,
    transactions,
    firstAt: '2026-11-24T10:00:00.000Z',
    lastAt,
    lastRole: 'app',
    lastApplication: 'billing',
  });

  it('passes when nobody else wrote, and warns per table with what, when and who otherwise', () => {
    const quiet = database(sourceDb());
    expect(judge(targetWrites, facts({ databases: [quiet] }), task())).toEqual([
      { severity: 'pass', message: 'no writes by others recorded on the target' },
    ]);
    const written = database(sourceDb(), {
      targetWrites: fact([
        write('DELETE', 1, '2026-11-24T10:05:00.000Z'),
        write('INSERT', 3, '2026-11-24T10:01:00.000Z'),
      ]),
    });
    expect(judge(targetWrites, facts({ databases: [written] }), task())).toEqual([
      {
        severity: 'warn',
        object: 'shop.public."Order Lines"',
        message:
          'written on the target by others while the task syncs: 1 DELETE, 3 INSERT transaction(s), the last at 2026-11-24T10:05:00.000Z by app (billing); those rows may now differ from the source',
        fix: 'stop writing to the target until `dts complete`, then run `dts verify` to see which rows differ',
      },
    ]);
  });
});
