import { describe, expect, it } from 'vitest';
import { fact } from '../../../src/catalog/types.js';
import type { PublisherRole } from '../../../src/checks/facts.js';
import {
  publicationPrivilege,
  replicationRole,
  targetOwnerPrivilege,
} from '../../../src/checks/privileges.js';
import { missingRoles } from '../../../src/checks/target.js';
import { judge } from './assess.js';
import { database, facts, relation, server, sourceDb, task } from './fixtures.js';

const REFUSED = 'permission denied to set parameter "session_replication_role"';

describe('target.session_replication_role with triggers', () => {
  const withTrigger = database(
    sourceDb({
      relations: [
        relation('public', 'orders', { originTriggers: ['orders_count', 'Audit'] }),
        relation('public', 'items'),
      ],
    }),
  );

  it('full+incremental: a FAIL per database naming the tables and triggers, with the GRANT on 15+', () => {
    const found = judge(
      replicationRole,
      facts({ databases: [withTrigger], targetReplicationRole: fact(REFUSED) }),
      task('full+incremental'),
    );
    expect(found.map((f) => f.severity)).toEqual(['warn', 'fail']);
    expect(found[1]).toEqual({
      severity: 'fail',
      object: 'shop',
      message:
        'triggers on public.orders (orders_count, "Audit") would fire again on the target for every replicated row, on top of what the source\'s triggers wrote',
      fix: 'GRANT SET ON PARAMETER session_replication_role TO app (as a superuser on the target)',
    });
  });

  it('foreign keys with ON DELETE/UPDATE actions: a FAIL of their own', () => {
    const acting = database(
      sourceDb({ relations: [relation('public', 'lines', { actingForeignKeys: ['lines_order_fkey'] })] }),
    );
    const found = judge(
      replicationRole,
      facts({ databases: [acting], targetReplicationRole: fact(REFUSED) }),
      task('full+incremental'),
    );
    expect(found[1]).toMatchObject({
      severity: 'fail',
      object: 'shop',
      message:
        'foreign keys with ON DELETE/UPDATE actions on public.lines (lines_order_fkey) would act again on the target: the replicated changes the action made on the source would then find their rows gone or changed, and sync stops',
    });
  });

  it('a 14 target has no GRANT SET ON PARAMETER: the fix says superuser', () => {
    const found = judge(
      replicationRole,
      facts({
        databases: [withTrigger],
        targetReplicationRole: fact(REFUSED),
        target: fact(server({ versionNum: 140022 })),
      }),
      task('full+incremental'),
    );
    expect(found[1]!.fix).toBe(
      'run as a superuser on the target (PostgreSQL 14 has no GRANT SET ON PARAMETER)',
    );
  });

  it('mode full: triggers do not fire on copied rows (created after the data): only the warning', () => {
    const found = judge(
      replicationRole,
      facts({ databases: [withTrigger], targetReplicationRole: fact(REFUSED) }),
      task('full'),
    );
    expect(found.map((f) => f.severity)).toEqual(['warn']);
  });

  it('no triggers: only the warning; allowed: nothing', () => {
    const plain = database(sourceDb({ relations: [relation('public', 'items')] }));
    expect(
      judge(replicationRole, facts({ databases: [plain], targetReplicationRole: fact(REFUSED) }), task()).map(
        (f) => f.severity,
      ),
    ).toEqual(['warn']);
    expect(judge(replicationRole, facts({ databases: [withTrigger] }), task())).toEqual([
      {
        severity: 'pass',
        object: undefined,
        message: 'the role may set session_replication_role = replica',
        fix: undefined,
      },
    ]);
  });
});

describe('target.privilege.owners', () => {
  const owned = (owner: string) =>
    database(
      sourceDb({
        relations: [relation('public', 'a', { owner }), relation('public', 'b', { owner })],
        schemas: [{ name: 'public', owner: 'postgres', canUse: true, grantees: [] }],
      }),
    );
  const access = (ownable: boolean) =>
    fact([
      { name: 'app', superuser: false, ownable: true },
      { name: 'shop_owner', superuser: false, ownable },
      { name: 'postgres', superuser: true, ownable: false },
    ]);

  it('an owner the role may not SET ROLE to: GRANT it; a superuser owner: map it', () => {
    const f = facts({ databases: [owned('shop_owner')], targetRoleAccess: access(false) });
    expect(judge(targetOwnerPrivilege, f, task())).toEqual([
      {
        severity: 'fail',
        object: 'target',
        message:
          'app may not make postgres (a superuser) the owner of 1 selected object (ALTER ... OWNER TO needs membership in the new owner)',
        fix: 'map the owner to app: options.roleMap: { postgres: app } (or run as a superuser on the target)',
      },
      {
        severity: 'fail',
        object: 'target',
        message:
          'app may not make shop_owner the owner of 2 selected objects (ALTER ... OWNER TO needs membership in the new owner)',
        fix: 'GRANT shop_owner TO app on the target, or map the owner to app with options.roleMap',
      },
    ]);
  });

  it('large objects count for their owners in data modes', () => {
    const db = database(
      sourceDb({
        schemas: [],
        largeObjectOwners: [{ owner: 'shop_owner', count: 3 }],
      }),
    );
    const f = facts({ databases: [db], targetRoleAccess: access(false) });
    expect(judge(targetOwnerPrivilege, f, task('full'))[0]!.message).toBe(
      'app may not make shop_owner the owner of 3 selected objects (ALTER ... OWNER TO needs membership in the new owner)',
    );
    expect(judge(targetOwnerPrivilege, f, task('structure'))[0]!.severity).toBe('pass');
  });

  it('pg_database_owner (public on 15+) is the database owner: no FAIL', () => {
    const db = database(
      sourceDb({ schemas: [{ name: 'public', owner: 'pg_database_owner', canUse: true, grantees: [] }] }),
    );
    const roles = fact([
      { name: 'app', superuser: false, ownable: true },
      { name: 'pg_database_owner', superuser: false, ownable: false },
    ]);
    expect(
      judge(targetOwnerPrivilege, facts({ databases: [db], targetRoleAccess: roles }), task()).map(
        (f) => f.severity,
      ),
    ).toEqual(['pass']);
  });

  it('membership, a mapping, or a role missing on the target (target.roles says so): no FAIL', () => {
    const map = { postgres: 'app' };
    expect(
      judge(
        targetOwnerPrivilege,
        facts({ databases: [owned('shop_owner')], targetRoleAccess: access(true) }),
        task('full+incremental', { roleMap: map }),
      ).map((f) => f.severity),
    ).toEqual(['pass']);
    expect(
      judge(
        targetOwnerPrivilege,
        facts({ databases: [owned('gone')], targetRoleAccess: access(false) }),
        task('full+incremental', { roleMap: map }),
      ).map((f) => f.severity),
    ).toEqual(['pass']);
  });
});

describe('target.roles: grantees', () => {
  const granted = database(
    sourceDb({
      relations: [relation('public', 'a', { owner: 'app', grantees: ['reporting', 'app'] })],
      schemas: [{ name: 'public', owner: 'app', canUse: true, grantees: ['reporting'] }],
    }),
  );

  it('a grantee missing on the target warns; the source login role is best mapped to the target role', () => {
    expect(judge(missingRoles, facts({ databases: [granted] }), task())).toEqual([
      {
        severity: 'warn',
        object: 'target',
        message:
          'role reporting is granted privileges on 2 selected objects but does not exist on the target',
        fix: 'CREATE ROLE reporting on the target, map it with options.roleMap, or set options.missingRoles: skip',
      },
    ]);
    const own = facts({
      databases: [granted],
      source: fact(server({ role: { ...server().role, name: 'reporting' } })),
      target: fact(server({ versionNum: 170010, role: { ...server().role, name: 'mover' } })),
    });
    expect(judge(missingRoles, own, task())[0]!.fix).toBe(
      'map it to the target role: options.roleMap: { reporting: mover }, or create it on the target, or set options.missingRoles: skip',
    );
    expect(
      judge(missingRoles, facts({ databases: [granted] }), task('full', { missingRoles: 'skip' }))[0],
    ).toMatchObject({
      severity: 'pass',
      message:
        'role reporting is granted privileges on 2 selected objects but is missing on the target: those grants are left out (missingRoles: skip)',
    });
  });
});

describe('source.privilege.publication', () => {
  const tables = database(
    sourceDb({
      relations: [
        relation('public', 'orders', { owner: 'app_owner', ownedByMe: false }),
        relation('public', 'items', { owner: 'app_owner', ownedByMe: false }),
      ],
    }),
  );
  const onPrimary = (role: Partial<PublisherRole>) =>
    facts({
      databases: [tables],
      sourcePrimary: {
        ok: true,
        value: {
          inRecovery: false,
          walLevel: 'logical',
          systemId: '1',
          canLogStandbySnapshot: true,
          role: { name: 'mover', superuser: false, actsAs: ['mover'], createOn: [], ...role },
        },
      },
    });
  const standby = { ...task(), sourcePrimary: { ...task().source, host: 'db0', user: 'mover' } };

  it("judges the source's role when there is no primary", () => {
    expect(judge(publicationPrivilege, onPrimary({ superuser: true }), task())).toEqual([
      {
        severity: 'fail',
        object: 'shop',
        message:
          "app does not own public.orders, public.items: only a table's owner (or a superuser) can add it to a publication",
        fix: "run dts as the tables' owner or a superuser, or GRANT app_owner TO app",
      },
    ]);
  });

  it("with source.primary, judges the primary's role and databases and says so", () => {
    // The source's own role owns everything (fixture default): only the primary's rights count.
    const owned = database(sourceDb({ relations: [relation('public', 'orders', { owner: 'app_owner' })] }));
    const f = {
      ...onPrimary({}),
      selection: fact({ databases: [owned], unknownDatabases: [], unmatched: [] }),
    };
    expect(judge(publicationPrivilege, f, standby)).toEqual([
      {
        severity: 'fail',
        object: 'shop',
        message: 'no CREATE privilege on the database on the primary: CREATE PUBLICATION needs it',
        fix: 'GRANT CREATE ON DATABASE shop TO mover (on the primary)',
      },
      {
        severity: 'fail',
        object: 'shop',
        message:
          "mover does not own public.orders on the primary: only a table's owner (or a superuser) can add it to a publication",
        fix: "run dts as the tables' owner or a superuser, or GRANT app_owner TO mover (on the primary)",
      },
    ]);
  });

  it('passes on the primary for a member of the owner with CREATE, or a superuser there', () => {
    expect(
      judge(publicationPrivilege, onPrimary({ actsAs: ['app_owner', 'mover'], createOn: ['shop'] }), standby),
    ).toEqual([
      {
        severity: 'pass',
        object: 'source.primary',
        message: 'mover may create the publication on the primary',
      },
    ]);
    expect(judge(publicationPrivilege, onPrimary({ superuser: true }), standby)).toEqual([
      { severity: 'pass', object: 'source.primary', message: 'mover is a superuser on the primary' },
    ]);
  });

  it('is not run when the primary could not be read', () => {
    const f = facts({
      databases: [tables],
      sourcePrimary: { ok: false, failure: { message: 'connection refused', hint: undefined } },
    });
    expect(judge(publicationPrivilege, f, standby)).toEqual([
      { severity: 'error', message: 'not run: cannot read source.primary: connection refused' },
    ]);
  });
});
