import { displayIdent, displayName } from '../catalog/display.js';
import type { Relation } from '../catalog/types.js';
import { ALL_MODES, finding, list, need, perDatabase, relName, type Check, type Draft } from './check.js';

export const unknownSelection: Check = {
  id: 'selection.unknown',
  severities: 'FAIL for a database or pattern that matches nothing',
  title: 'Every listed database and pattern exists',
  modes: ALL_MODES,
  passMessage: 'every listed database and pattern matches',
  assess(facts) {
    const sel = need(facts.selection);
    const out: Draft[] = sel.unknownDatabases.map((name) =>
      finding(
        'fail',
        `unknown database in the selection: ${displayIdent(name)} does not exist on the source`,
        displayName(name),
        'check objects.databases in the task file',
      ),
    );
    for (const u of sel.unmatched) {
      const where =
        u.database === undefined ? 'in any selected database' : `in database ${displayIdent(u.database)}`;
      out.push(
        finding(
          'fail',
          `unknown table in the selection: ${u.kind} pattern "${u.pattern}" matches nothing ${where}`,
          u.database === undefined ? 'source' : displayName(u.database),
          'patterns are globs over schema.table with unquoted, case-sensitive names, e.g. public.orders or sales.*',
        ),
      );
    }
    return out;
  },
};

function byOid(relations: readonly Relation[]): Map<number, Relation> {
  return new Map(relations.map((r) => [r.oid, r]));
}

export const foreignKeys: Check = {
  id: 'selection.foreign_keys',
  severities: 'FAIL for a selected table whose foreign key references an unselected table',
  title: 'Foreign keys stay inside the selection',
  modes: ALL_MODES,
  passMessage: 'every foreign key of a selected table points to a selected table',
  assess(facts) {
    return perDatabase(facts, (db, src) => {
      const all = byOid(src.relations);
      const selected = new Set(db.selected.map((r) => r.oid));
      return src.foreignKeys
        .filter((fk) => selected.has(fk.table) && !selected.has(fk.references))
        .map((fk) => {
          const from = all.get(fk.table)!;
          const to = all.get(fk.references);
          const toName = to ? displayName(to.schema, to.name) : `relation ${fk.references}`;
          return finding(
            'fail',
            `foreign key ${displayIdent(fk.name)} references ${toName}, which is not selected: creating the key on the target fails`,
            relName(db.name, from),
            `select ${toName} too, or exclude ${displayName(from.schema, from.name)}`,
          );
        });
    });
  },
};

export const views: Check = {
  id: 'selection.views',
  severities: 'WARN for views over unselected tables',
  title: 'Views read only selected relations',
  modes: ALL_MODES,
  passMessage: 'every selected view reads only selected relations',
  assess(facts) {
    return perDatabase(facts, (db, src) => {
      const all = byOid(src.relations);
      const selected = new Set(db.selected.map((r) => r.oid));
      const out: Draft[] = [];
      for (const v of db.selected.filter((r) => r.kind === 'view' || r.kind === 'materialized view')) {
        const missing = v.dependsOn
          .filter((oid) => !selected.has(oid) && all.has(oid))
          .map((oid) => all.get(oid)!);
        if (missing.length === 0) continue;
        const names = list(missing.map((r) => displayName(r.schema, r.name)));
        out.push(
          finding(
            'warn',
            `${v.kind} reads ${names}, which ${missing.length === 1 ? 'is' : 'are'} not selected: creating it on the target fails or it shows no rows`,
            relName(db.name, v),
            `select ${names} too, or exclude the ${v.kind}`,
          ),
        );
      }
      return out;
    });
  },
};

export const inheritance: Check = {
  id: 'selection.inheritance',
  severities: 'WARN when a parent is selected without its children or the reverse',
  title: 'Partitions and inheritance kept together',
  modes: ALL_MODES,
  passMessage: 'parents and children are selected together',
  assess(facts) {
    return perDatabase(facts, (db, src) => {
      const all = byOid(src.relations);
      const selected = new Set(db.selected.map((r) => r.oid));
      const out: Draft[] = [];
      for (const child of src.relations.filter((r) => r.parents.length > 0)) {
        for (const parentOid of child.parents) {
          const parent = all.get(parentOid);
          if (!parent || selected.has(child.oid) === selected.has(parentOid)) continue;
          const relation = child.isPartition ? 'partition' : 'child';
          if (selected.has(parentOid))
            out.push(
              finding(
                'warn',
                `${relation} ${displayName(child.schema, child.name)} is not selected: its rows are not copied`,
                relName(db.name, parent),
                `select ${displayName(child.schema, child.name)} too, or exclude the parent`,
              ),
            );
          else
            out.push(
              finding(
                'warn',
                `${relation} of ${displayName(parent.schema, parent.name)}, which is not selected: ${child.isPartition ? 'a partition cannot be created without its parent' : 'it is created without its parent'}`,
                relName(db.name, child),
                `select ${displayName(parent.schema, parent.name)} too, or exclude the ${relation}`,
              ),
            );
        }
      }
      return out;
    });
  },
};
