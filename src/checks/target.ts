import { displayIdent, displayName } from '../catalog/display.js';
import { replicationNames } from '../catalog/names.js';
import type { NamedObject } from '../catalog/types.js';
import {
  ALL_MODES,
  DATA_MODES,
  INCREMENTAL,
  finding,
  need,
  perDatabase,
  plural,
  relName,
  type Check,
  type Draft,
} from './check.js';
import { writesByTable } from '../state/target-writes.js';

const objectKey = (o: NamedObject) => `${o.kind}\0${o.schema}\0${o.name}\0${o.args ?? ''}\0${o.table ?? ''}`;

function describe(o: NamedObject): string {
  const name = displayName(o.schema, o.name);
  switch (o.kind) {
    case 'function':
      return `function ${name}(${o.args ?? ''})`;
    case 'trigger':
      return `trigger ${displayIdent(o.name)} on ${displayName(o.schema, o.table ?? '?')}`;
    default:
      return `${o.kind} ${name}`;
  }
}

export const existingObjects: Check = {
  id: 'target.existing_objects',
  severities:
    'FAIL for tables, views and sequences that already exist on the target; WARN for functions, indexes, triggers, types',
  title: 'No objects with the same names on the target',
  modes: ALL_MODES,
  passMessage: 'nothing in the way on the target',
  assess(facts) {
    return perDatabase(facts, (db, src) => {
      const target = need(db.target);
      if (target === undefined) return [];
      const out: Draft[] = [];
      const there = new Map(target.relations.map((r) => [`${r.schema}\0${r.name}`, r]));
      for (const r of db.selected) {
        const clash = there.get(`${r.schema}\0${r.name}`);
        if (!clash) continue;
        out.push(
          finding(
            'fail',
            `a ${clash.kind} with this name already exists in the target database`,
            relName(db.name, r),
            `drop or rename it on the target, or exclude ${displayName(r.schema, r.name)} from the task`,
          ),
        );
      }
      // Functions and types come along with their schema; indexes and triggers with their table.
      const schemas = new Set(db.selected.map((r) => r.schema));
      const tables = new Set(db.selected.map((r) => `${r.schema}\0${r.name}`));
      const targetObjects = new Set(target.objects.map(objectKey));
      for (const o of src.objects) {
        const comes =
          o.kind === 'index' || o.kind === 'trigger'
            ? tables.has(`${o.schema}\0${o.table}`)
            : schemas.has(o.schema);
        if (!comes) continue;
        // An index name is unique per schema, whatever its table.
        const clash =
          o.kind === 'index'
            ? target.objects.some((t) => t.kind === 'index' && t.schema === o.schema && t.name === o.name)
            : targetObjects.has(objectKey(o));
        if (clash)
          out.push(
            finding(
              'warn',
              `${describe(o)} already exists in the target database: creating it fails or keeps the target's version`,
              displayName(db.name),
              'drop it on the target if it is left from an earlier attempt',
            ),
          );
      }
      return out;
    });
  },
};

export const replicationNameClash: Check = {
  id: 'source.replication_names',
  severities: 'FAIL when the slot or publication name dts will use already exists',
  title: 'Slot and publication names free on the source',
  modes: DATA_MODES,
  passMessage: 'the slot and publication names are free',
  assess(facts, task) {
    const slots = new Set(need(facts.sourceSlots).map((s) => s.name));
    return perDatabase(facts, (db, src) => {
      const { slot, publication } = replicationNames(task, db.name);
      const out: Draft[] = [];
      if (slots.has(slot))
        out.push(
          finding(
            'fail',
            `replication slot ${slot} already exists on the source`,
            displayName(db.name),
            `if it is left from an earlier attempt of this task, drop it: SELECT pg_drop_replication_slot('${slot}')`,
          ),
        );
      if (task.mode === 'full+incremental' && src.publications.includes(publication))
        out.push(
          finding(
            'fail',
            `publication ${publication} already exists in the source database`,
            displayName(db.name),
            `if it is left from an earlier attempt of this task, drop it: DROP PUBLICATION ${publication}`,
          ),
        );
      return out;
    });
  },
};

export const missingRoles: Check = {
  id: 'target.roles',
  severities: 'WARN for owners and grantees missing on the target (a note when missingRoles: skip)',
  title: 'Owners of the selected objects exist on the target',
  modes: ALL_MODES,
  passMessage: 'every owner exists on the target',
  assess(facts, task) {
    const roles = new Set(need(facts.targetRoles));
    const me = need(facts.target).role.name;
    const owners = new Map<string, number>();
    const grantees = new Map<string, number>();
    const count = (m: Map<string, number>, role: string) => m.set(role, (m.get(role) ?? 0) + 1);
    // Databases whose facts are missing come back as error findings; the others feed the counts.
    const out: Draft[] = perDatabase(facts, (db, src) => {
      const schemas = new Set(db.selected.map((r) => r.schema));
      const objects = [...db.selected, ...src.schemas.filter((s) => schemas.has(s.name))];
      for (const o of objects) {
        count(owners, o.owner);
        for (const g of o.grantees) count(grantees, g);
      }
      return [];
    });
    const missing = (role: string) => {
      const mapped = task.options.roleMap[role] ?? role;
      if (roles.has(mapped)) return undefined;
      const name =
        mapped === role ? displayIdent(role) : `${displayIdent(mapped)} (mapped from ${displayIdent(role)})`;
      return { mapped, name };
    };
    const fix = (mapped: string) =>
      `CREATE ROLE ${displayIdent(mapped)} on the target, map it with options.roleMap, or set options.missingRoles: skip`;
    for (const [owner, n] of [...owners].sort(([a], [b]) => a.localeCompare(b))) {
      const m = missing(owner);
      if (m === undefined) continue;
      out.push(
        task.options.missingRoles === 'skip'
          ? finding(
              'pass',
              `role ${m.name} owns ${plural(n, 'selected object')} but is missing on the target: they will be owned by ${displayIdent(me)} (missingRoles: skip)`,
              'target',
            )
          : finding(
              'warn',
              `role ${m.name} owns ${plural(n, 'selected object')} but does not exist on the target`,
              'target',
              fix(m.mapped),
            ),
      );
    }
    // A grantee that is also a missing owner was named above.
    for (const [grantee, n] of [...grantees].sort(([a], [b]) => a.localeCompare(b))) {
      const m = missing(grantee);
      if (m === undefined || owners.has(grantee)) continue;
      // Grants to the role dts reads the source as are usually there for the migration alone.
      const ownRole = facts.source.ok && facts.source.value.role.name === grantee;
      const hint = ownRole
        ? `map it to the target role: options.roleMap: { ${displayIdent(grantee)}: ${displayIdent(me)} }, or create it on the target, or set options.missingRoles: skip`
        : fix(m.mapped);
      out.push(
        task.options.missingRoles === 'skip'
          ? finding(
              'pass',
              `role ${m.name} is granted privileges on ${plural(n, 'selected object')} but is missing on the target: those grants are left out (missingRoles: skip)`,
              'target',
            )
          : finding(
              'warn',
              `role ${m.name} is granted privileges on ${plural(n, 'selected object')} but does not exist on the target`,
              'target',
              hint,
            ),
      );
    }
    return out;
  },
};

export const targetWrites: Check = {
  id: 'target.writes_during_sync',
  severities: 'WARN for tables of a syncing task that others wrote on the target',
  title: 'Nobody but dts writes the target while the task syncs',
  modes: INCREMENTAL,
  passMessage: 'no writes by others recorded on the target',
  assess(facts) {
    return perDatabase(facts, (db) =>
      writesByTable(need(db.targetWrites)).map((w) =>
        finding(
          'warn',
          `written on the target by others while the task syncs: ${w.text}; those rows may now differ from the source`,
          `${displayName(db.targetName)}.${w.table}`,
          'stop writing to the target until `dts complete`, then run `dts verify` to see which rows differ',
        ),
      ),
    );
  },
};
