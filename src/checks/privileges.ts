import { displayIdent, displayName } from '../catalog/display.js';
import type { Relation, Settings } from '../catalog/types.js';
import {
  ALL_MODES,
  DATA_MODES,
  INCREMENTAL,
  finding,
  list,
  need,
  perDatabase,
  plural,
  NotRun,
  type Check,
  type Draft,
} from './check.js';
import type { Facts } from './facts.js';
import type { Task } from '../task/types.js';

export const replicationPrivilege: Check = {
  id: 'source.privilege.replication',
  severities: 'FAIL unless superuser, REPLICATION or a cloud replication role',
  title: 'Source role may replicate',
  modes: DATA_MODES,
  passMessage: 'the role may replicate',
  assess(facts) {
    const { role } = need(facts.source);
    if (role.superuser) return [finding('pass', `${displayIdent(role.name)} is a superuser`, 'source')];
    if (role.replication)
      return [finding('pass', `${displayIdent(role.name)} has the REPLICATION attribute`, 'source')];
    const cloud = role.cloudRoles.filter((r) => r === 'rds_replication' || r === 'rds_superuser');
    if (cloud.length > 0)
      return [finding('pass', `${displayIdent(role.name)} is a member of ${cloud.join(', ')}`, 'source')];
    return [
      finding(
        'fail',
        `role ${displayIdent(role.name)} cannot replicate: it is not a superuser and has no REPLICATION attribute`,
        'source',
        `ALTER ROLE ${displayIdent(role.name)} REPLICATION (as a superuser; on Amazon RDS: GRANT rds_replication TO ${displayIdent(role.name)})`,
      ),
    ];
  },
};

/** Reading the schema needs USAGE on each schema; copying needs SELECT on every table and sequence. */
export const readPrivilege: Check = {
  id: 'source.privilege.read',
  severities: 'FAIL for missing USAGE on schemas, or SELECT on tables and sequences (data modes)',
  title: 'Source role may read the selection',
  modes: ALL_MODES,
  passMessage: 'the role may read every selected object',
  assess(facts, task) {
    const me = displayIdent(need(facts.source).role.name);
    const copies = task.mode !== 'structure';
    return perDatabase(facts, (db, src) => {
      const out: Draft[] = [];
      const schemas = new Set(db.selected.map((r) => r.schema));
      for (const s of src.schemas.filter((s) => schemas.has(s.name) && !s.canUse)) {
        out.push(
          finding(
            'fail',
            `no USAGE privilege on schema ${displayIdent(s.name)}`,
            displayName(db.name, s.name),
            `GRANT USAGE ON SCHEMA ${displayIdent(s.name)} TO ${me} (in database ${displayIdent(db.name)})`,
          ),
        );
      }
      if (!copies) return out;
      const unreadable = db.selected.filter(
        (r) =>
          !r.canSelect && (r.kind === 'table' || r.kind === 'partitioned table' || r.kind === 'sequence'),
      );
      for (const schema of new Set(unreadable.map((r) => r.schema))) {
        const here = unreadable.filter((r) => r.schema === schema);
        const tables = here.filter((r) => r.kind !== 'sequence').map((r) => displayIdent(r.name));
        const sequences = here.filter((r) => r.kind === 'sequence').map((r) => displayIdent(r.name));
        const what = [
          tables.length ? `table${tables.length > 1 ? 's' : ''} ${list(tables)}` : '',
          sequences.length ? `sequence${sequences.length > 1 ? 's' : ''} ${list(sequences)}` : '',
        ].filter(Boolean);
        const s = displayIdent(schema);
        out.push(
          finding(
            'fail',
            `no SELECT privilege on ${what.join(' and ')}`,
            displayName(db.name, schema),
            `GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${me}; GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${me}`,
          ),
        );
      }
      return out;
    });
  },
};

/** Who runs CREATE PUBLICATION and what it may do there, as the assessor needs it. */
interface Publisher {
  readonly name: string;
  readonly superuser: boolean;
  /** Whether it has CREATE on a database; undefined when unknown (the check then says nothing). */
  canCreate(database: string): boolean | undefined;
  /** Whether it owns (or acts as the owner of) a table. */
  owns(table: Relation): boolean;
  /** The standby source's primary, not the source: findings say so. */
  readonly onPrimary: boolean;
}

/**
 * The role CREATE PUBLICATION runs as: the source's, or with `source.primary` (a standby source) the
 * primary's, whose rights are read on the primary. Throws NotRun when they could not be read.
 */
function publisher(facts: Facts, task: Task): Publisher {
  if (task.sourcePrimary) {
    const p = facts.sourcePrimary;
    if (!p) throw new NotRun('source.primary was not read');
    if (!p.ok) throw new NotRun(`cannot read source.primary: ${p.failure.message}`);
    const role = p.value.role;
    const actsAs = new Set(role.actsAs);
    return {
      name: role.name,
      superuser: role.superuser,
      canCreate: (database) => role.createOn.includes(database),
      owns: (table) => actsAs.has(table.owner),
      onPrimary: true,
    };
  }
  const { role } = need(facts.source);
  const infos = need(facts.sourceDatabases);
  return {
    name: role.name,
    superuser: role.superuser,
    canCreate: (database) => infos.find((d) => d.name === database)?.canCreate,
    owns: (table) => table.ownedByMe,
    onPrimary: false,
  };
}

/**
 * CREATE PUBLICATION ... FOR TABLE needs CREATE on the database and ownership of every table, on the
 * server it runs on: the source, or a standby source's primary.
 */
export const publicationPrivilege: Check = {
  id: 'source.privilege.publication',
  severities:
    'FAIL when the role cannot create the publication (owner of the tables, CREATE on the database; on the primary when the source is a standby)',
  title: 'Source role may create the publication',
  modes: INCREMENTAL,
  passMessage: 'the role may create the publication',
  assess(facts, task) {
    const p = publisher(facts, task);
    const me = displayIdent(p.name);
    const primary = p.onPrimary;
    const where = primary ? ' on the primary' : '';
    const run = primary ? ' (on the primary)' : '';
    if (p.superuser)
      return primary ? [finding('pass', `${me} is a superuser on the primary`, 'source.primary')] : [];
    const out = perDatabase(facts, (db) => {
      const out: Draft[] = [];
      if (p.canCreate(db.name) === false)
        out.push(
          finding(
            'fail',
            `no CREATE privilege on the database${where}: CREATE PUBLICATION needs it`,
            displayName(db.name),
            `GRANT CREATE ON DATABASE ${displayIdent(db.name)} TO ${me}${run}`,
          ),
        );
      const notMine = db.selected.filter(
        (r) => (r.kind === 'table' || r.kind === 'partitioned table') && !p.owns(r),
      );
      if (notMine.length > 0)
        out.push(
          finding(
            'fail',
            `${me} does not own ${list(notMine.map((r) => displayName(r.schema, r.name)))}${where}: only a table's owner (or a superuser) can add it to a publication`,
            displayName(db.name),
            `run dts as the tables' owner or a superuser, or GRANT ${displayIdent(notMine[0]!.owner)} TO ${me}${run}`,
          ),
        );
      return out;
    });
    if (out.length > 0 || !primary) return out;
    return [finding('pass', `${me} may create the publication on the primary`, 'source.primary')];
  },
};

export const targetCreatePrivilege: Check = {
  id: 'target.privilege.create',
  severities: 'FAIL when the target role cannot create the database, schemas or tables',
  title: 'Target role may create the databases and objects',
  modes: ALL_MODES,
  passMessage: 'the role may create what dts needs',
  assess(facts) {
    const { role } = need(facts.target);
    const me = displayIdent(role.name);
    const dbs = need(facts.targetDatabases);
    const out: Draft[] = [];
    for (const db of need(facts.selection).databases) {
      const info = dbs.find((d) => d.name === db.targetName);
      const obj = displayName(db.targetName);
      if (!info) {
        if (!role.superuser && !role.createDb)
          out.push(
            finding(
              'fail',
              `the database does not exist on the target and ${me} may not create databases`,
              obj,
              `ALTER ROLE ${me} CREATEDB on the target, or create it first: CREATE DATABASE ${displayIdent(db.targetName)} OWNER ${me}`,
            ),
          );
        else out.push(finding('pass', 'does not exist on the target yet: dts creates it', obj));
        continue;
      }
      if (!info.canConnect)
        out.push(
          finding(
            'fail',
            `${me} may not connect to it`,
            obj,
            `GRANT CONNECT ON DATABASE ${displayIdent(db.targetName)} TO ${me}`,
          ),
        );
      if (!info.canCreate)
        out.push(
          finding(
            'fail',
            `${me} has no CREATE privilege on it: dts cannot create schemas there`,
            obj,
            `GRANT CREATE ON DATABASE ${displayIdent(db.targetName)} TO ${me}`,
          ),
        );
    }
    return out;
  },
};

/**
 * dts reproduces ownership with ALTER ... OWNER TO, which a non-superuser may only do towards roles it
 * may SET ROLE to (a member of; from 16 on with the SET option). Every schema of the database is created,
 * not only the selection's, so all of them count. Missing roles are target.roles' business.
 */
export const targetOwnerPrivilege: Check = {
  id: 'target.privilege.owners',
  severities: 'FAIL when the target role may not give the selected objects to their owners',
  title: 'Target role may hand objects to their owners',
  modes: ALL_MODES,
  passMessage: 'the role may give every selected object to its owner',
  assess(facts, task) {
    const me = displayIdent(need(facts.target).role.name);
    const access = new Map(need(facts.targetRoleAccess).map((r) => [r.name, r]));
    const owned = new Map<string, number>();
    const out: Draft[] = perDatabase(facts, (db, src) => {
      const count = (owner: string, n: number) => {
        const role = task.options.roleMap[owner] ?? owner;
        owned.set(role, (owned.get(role) ?? 0) + n);
      };
      for (const o of [...db.selected, ...src.schemas]) count(o.owner, 1);
      // Large objects are copied in data modes only, owner included (ALTER LARGE OBJECT ... OWNER TO).
      if (task.mode !== 'structure') for (const l of src.largeObjectOwners) count(l.owner, l.count);
      return [];
    });
    for (const [role, n] of [...owned].sort(([a], [b]) => a.localeCompare(b))) {
      const r = access.get(role);
      // pg_database_owner (public's owner from 15 on) stands for the database's owner: the target's
      // public schema already belongs to it, and ALTER ... OWNER TO the current owner checks nothing.
      if (r === undefined || r.ownable || role === 'pg_database_owner') continue;
      const owner = displayIdent(role);
      out.push(
        finding(
          'fail',
          `${me} may not make ${owner}${r.superuser ? ' (a superuser)' : ''} the owner of ${plural(n, 'selected object')} (ALTER ... OWNER TO needs membership in the new owner)`,
          'target',
          r.superuser
            ? `map the owner to ${me}: options.roleMap: { ${owner}: ${me} } (or run as a superuser on the target)`
            : `GRANT ${owner} TO ${me} on the target, or map the owner to ${me} with options.roleMap`,
        ),
      );
    }
    return out;
  },
};

/**
 * Without session_replication_role = replica the applier's session fires the target's ordinary triggers
 * and foreign-key triggers for every replicated row. Foreign-key checks stay correct (the applier then
 * keeps the source's commit order across tables, so each check sees what the source saw), but a trigger
 * that writes, or an ON DELETE/UPDATE action, would do its work a second time on top of the changes the
 * source's own made, which are replicated too: in full+incremental that is a FAIL. (Copied rows are not
 * affected: triggers and foreign keys are created after the data.)
 */
export const replicationRole: Check = {
  id: 'target.session_replication_role',
  severities:
    'WARN when the role cannot set session_replication_role (target triggers and FKs would fire for replicated rows); FAIL in full+incremental when selected tables have triggers or foreign keys with ON DELETE/UPDATE actions',
  title: 'Target may suspend triggers and foreign keys for replicated rows',
  modes: DATA_MODES,
  passMessage: 'the role may set session_replication_role = replica',
  assess(facts, task) {
    const refusal = need(facts.targetReplicationRole);
    if (refusal === undefined) return [];
    const target = need(facts.target);
    const me = displayIdent(target.role.name);
    const fix =
      target.versionNum >= 150000
        ? `GRANT SET ON PARAMETER session_replication_role TO ${me} (as a superuser on the target)`
        : `run as a superuser on the target (PostgreSQL ${Math.floor(target.versionNum / 10000)} has no GRANT SET ON PARAMETER)`;
    const out: Draft[] = [
      finding(
        'warn',
        `cannot set session_replication_role = replica (${refusal}): target triggers and foreign keys will fire for replicated rows`,
        'target',
        `run as a superuser or grant SET on session_replication_role (PG15+): GRANT SET ON PARAMETER session_replication_role TO ${me}`,
      ),
    ];
    if (task.mode !== 'full+incremental') return out;
    return [
      ...out,
      ...perDatabase(facts, (db) => {
        // Tables whose `objects` would act again, named with them: `app.orders (orders_count)`.
        const acting = (objects: (r: Relation) => readonly string[], says: (names: string) => string) => {
          const hit = db.selected.filter((r) => objects(r).length > 0);
          if (hit.length === 0) return [];
          const names = hit.map(
            (r) =>
              `${displayName(r.schema, r.name)} (${objects(r)
                .map((o) => displayIdent(o))
                .join(', ')})`,
          );
          return [finding('fail', says(list(names)), displayName(db.name), fix)];
        };
        return [
          ...acting(
            (r) => r.originTriggers,
            (names) =>
              `triggers on ${names} would fire again on the target for every replicated row, on top of what the source's triggers wrote`,
          ),
          ...acting(
            (r) => r.actingForeignKeys,
            (names) =>
              `foreign keys with ON DELETE/UPDATE actions on ${names} would act again on the target: the replicated changes the action made on the source would then find their rows gone or changed, and sync stops`,
          ),
        ];
      }),
    ];
  },
};

export const TIMEOUT_SETTING_NAMES = ['statement_timeout', 'idle_in_transaction_session_timeout'] as const;

function timeoutFindings(side: 'source' | 'target', settings: Settings, role: string): Draft[] {
  const why: Record<(typeof TIMEOUT_SETTING_NAMES)[number], string> = {
    statement_timeout: 'a long COPY of a big table would be cancelled',
    idle_in_transaction_session_timeout:
      'the session holding the copy snapshot sits idle while the COPY workers run and would be killed',
  };
  return TIMEOUT_SETTING_NAMES.flatMap((name) => {
    const ms = Number(settings[name]?.value ?? 0);
    if (ms === 0) return [];
    return [
      finding(
        'warn',
        `${name} is ${ms} ms for ${displayIdent(role)}: ${why[name]}`,
        side,
        `ALTER ROLE ${displayIdent(role)} SET ${name} = 0 on the ${side} (or remove it from the database and server settings)`,
      ),
    ];
  });
}

export const sessionTimeouts: Check = {
  id: 'session.timeouts',
  severities: 'WARN when statement_timeout or idle_in_transaction_session_timeout could cut dts sessions',
  title: 'Session timeouts of the migration roles',
  modes: DATA_MODES,
  passMessage: 'no statement or idle-in-transaction timeout',
  assess(facts) {
    return [
      ...timeoutFindings('source', need(facts.sourceSettings), need(facts.source).role.name),
      ...timeoutFindings('target', need(facts.targetSettings), need(facts.target).role.name),
    ];
  },
};
