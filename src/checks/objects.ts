import { displayIdent, displayName, formatBytes } from '../catalog/display.js';
import type { Relation } from '../catalog/types.js';
import {
  ALL_MODES,
  DATA_MODES,
  INCREMENTAL,
  finding,
  list,
  perDatabase,
  plural,
  relName,
  selectedTables,
  type Check,
  type Draft,
} from './check.js';

const sqlName = (r: Relation) => displayName(r.schema, r.name);

/**
 * Without a key the applier cannot find the row an UPDATE or DELETE means; worse, once such a table is
 * in a publication that publishes updates, PostgreSQL rejects UPDATE and DELETE on the live source.
 */
export const replicaIdentity: Check = {
  id: 'objects.replica_identity',
  severities:
    'FAIL in full+incremental for a table with no primary key and no usable replica identity (UPDATE/DELETE on the live source would fail); INFO otherwise',
  title: 'Tables have a primary key or replica identity',
  modes: ALL_MODES,
  passMessage: 'every selected table has a primary key or a replica identity',
  assess(facts, task) {
    return perDatabase(facts, (db) =>
      // A partitioned parent publishes through its leaves, which are checked themselves.
      db.selected
        .filter(
          (r) =>
            r.kind === 'table' &&
            !r.hasPrimaryKey &&
            (r.replicaIdentity === 'default' || r.replicaIdentity === 'nothing'),
        )
        .map((r) => {
          const what = `no primary key and replica identity ${r.replicaIdentity.toUpperCase()}`;
          if (task.mode !== 'full+incremental')
            return finding(
              'info',
              `${what}: fine for a one-time copy, but it cannot be replicated later`,
              relName(db.name, r),
            );
          const fixes = [`ALTER TABLE ${sqlName(r)} REPLICA IDENTITY FULL`];
          if (r.identityCandidates[0])
            fixes.push(
              `ALTER TABLE ${sqlName(r)} REPLICA IDENTITY USING INDEX ${displayIdent(r.identityCandidates[0])}`,
            );
          fixes.push('exclude the table from the task');
          return finding(
            'fail',
            `${what}: UPDATE/DELETE on the live source would start failing once the table is in the publication`,
            relName(db.name, r),
            fixes.join(', or '),
          );
        }),
    );
  },
};

export const replicaIdentityFull: Check = {
  id: 'objects.replica_identity_full',
  severities: 'WARN for REPLICA IDENTITY FULL on big tables (slow apply)',
  title: 'REPLICA IDENTITY FULL on big tables',
  modes: INCREMENTAL,
  passMessage: 'no big table uses REPLICA IDENTITY FULL',
  assess(facts) {
    return perDatabase(facts, (db) =>
      db.selected
        .filter(
          (r) =>
            r.kind === 'table' && r.replicaIdentity === 'full' && r.totalBytes >= facts.limits.bigTableBytes,
        )
        .map((r) =>
          finding(
            'warn',
            `REPLICA IDENTITY FULL on a ${formatBytes(r.totalBytes)} table: every change writes the whole old row to WAL and each UPDATE/DELETE is matched on all columns on the target`,
            relName(db.name, r),
            r.identityCandidates[0]
              ? `ALTER TABLE ${sqlName(r)} REPLICA IDENTITY USING INDEX ${displayIdent(r.identityCandidates[0])}`
              : `add a primary key to ${sqlName(r)}`,
          ),
        ),
    );
  },
};

export const unlogged: Check = {
  id: 'objects.unlogged',
  severities: 'FAIL in full+incremental (not in WAL), WARN in full',
  title: 'Unlogged tables',
  modes: DATA_MODES,
  passMessage: 'no unlogged tables selected',
  assess(facts, task) {
    return perDatabase(facts, (db) =>
      selectedTables(db)
        .filter((r) => r.unlogged)
        .map((r) =>
          task.mode === 'full+incremental'
            ? finding(
                'fail',
                'unlogged table: its changes are not in the WAL, so it is copied once and changes are not replicated',
                relName(db.name, r),
                `ALTER TABLE ${sqlName(r)} SET LOGGED, or exclude the table from the task`,
              )
            : finding(
                'warn',
                'unlogged table: copied, and unlogged (emptied after a crash) on the target too',
                relName(db.name, r),
              ),
        ),
    );
  },
};

export const rules: Check = {
  id: 'objects.rules',
  severities: 'WARN for tables with rules',
  title: 'Tables with rules',
  modes: DATA_MODES,
  passMessage: 'no selected table has rules',
  assess(facts) {
    return perDatabase(facts, (db) =>
      selectedTables(db)
        .filter((r) => r.rules.length > 0)
        .map((r) =>
          finding(
            'warn',
            `has ${plural(r.rules.length, 'rule')} (${list(r.rules.map(displayIdent))}): rules rewrite the rows dts writes on the target as well`,
            relName(db.name, r),
            'check that the rules do not write twice what is copied; ALTER TABLE ... DISABLE RULE during the migration if they do',
          ),
        ),
    );
  },
};

export const largeObjects: Check = {
  id: 'objects.large_objects',
  severities: 'WARN in full+incremental (later changes are not replicated), INFO in full',
  title: 'Large objects',
  modes: DATA_MODES,
  passMessage: 'no large objects',
  assess(facts, task) {
    return perDatabase(facts, (db, src) => {
      if (src.largeObjects === 0) return [];
      const n = plural(src.largeObjects, 'large object');
      return [
        task.mode === 'full+incremental'
          ? finding(
              'warn',
              `${n}: copied in the full phase, later changes are not replicated (logical decoding does not carry them)`,
              displayName(db.name),
              'do not change large objects during the migration, or move them to bytea columns',
            )
          : finding('info', `${n}: copied once with the data`, displayName(db.name)),
      ];
    });
  },
};

export const generatedColumns: Check = {
  id: 'objects.generated_columns',
  severities: 'INFO: generated columns are computed on the target',
  title: 'Generated columns',
  modes: DATA_MODES,
  passMessage: 'no generated columns',
  assess(facts) {
    return perDatabase(facts, (db) =>
      selectedTables(db)
        .filter((r) => r.generatedColumns.length > 0)
        .map((r) =>
          finding(
            'info',
            `generated ${r.generatedColumns.length === 1 ? 'column' : 'columns'} ${list(r.generatedColumns.map(displayIdent))}: not copied, the target computes them again`,
            relName(db.name, r),
          ),
        ),
    );
  },
};

export const partitions: Check = {
  id: 'objects.partitions',
  severities: 'INFO for partitioned tables, WARN for inheritance children',
  title: 'Partitioned and inherited tables',
  modes: ALL_MODES,
  passMessage: 'no partitioned or inherited tables',
  assess(facts) {
    return perDatabase(facts, (db) => {
      const out: Draft[] = [];
      for (const r of db.selected) {
        if (r.kind === 'partitioned table')
          out.push(
            finding(
              'info',
              'partitioned table: created with its partitions; rows are copied and replicated through the partitions',
              relName(db.name, r),
            ),
          );
        else if (r.kind === 'table' && r.parents.length > 0 && !r.isPartition)
          out.push(
            finding(
              'warn',
              'inherits from another table: each table is copied on its own (COPY ONLY), so rows are not counted twice; check that the parents are selected too',
              relName(db.name, r),
            ),
          );
      }
      return out;
    });
  },
};

export const foreignTables: Check = {
  id: 'objects.foreign_tables',
  severities: 'WARN: foreign tables are not copied',
  title: 'Foreign tables',
  modes: ALL_MODES,
  passMessage: 'no foreign tables',
  assess(facts) {
    return perDatabase(facts, (db) =>
      db.selected
        .filter((r) => r.kind === 'foreign table')
        .map((r) =>
          finding(
            'warn',
            'foreign table: only its definition is created; the data stays on the foreign server, and the target needs the same foreign-data wrapper and server',
            relName(db.name, r),
            'install the wrapper on the target and check the server options and user mappings, or exclude the table',
          ),
        ),
    );
  },
};

export const cFunctions: Check = {
  id: 'objects.c_functions',
  severities: 'WARN for C-language functions outside extensions',
  title: 'C-language functions outside extensions',
  modes: ALL_MODES,
  passMessage: 'no C-language functions outside extensions',
  assess(facts) {
    return perDatabase(facts, (db, src) =>
      src.cFunctions.map((f) =>
        finding(
          'warn',
          `C-language function ${f} is not part of an extension: its shared library must exist on the target (managed services refuse it)`,
          displayName(db.name),
          'install the library on the target, or package it as an extension',
        ),
      ),
    );
  },
};

export const materializedViews: Check = {
  id: 'objects.materialized_views',
  severities: 'INFO: refreshed at the end',
  title: 'Materialized views',
  modes: ALL_MODES,
  passMessage: 'no materialized views',
  assess(facts, task) {
    return perDatabase(facts, (db) =>
      db.selected
        .filter((r) => r.kind === 'materialized view')
        .map((r) =>
          task.mode === 'structure'
            ? finding(
                'info',
                'materialized view: created WITH NO DATA; refresh it yourself',
                relName(db.name, r),
                `REFRESH MATERIALIZED VIEW ${sqlName(r)}`,
              )
            : finding(
                'info',
                'materialized view: refreshed on the target at the end of the copy',
                relName(db.name, r),
              ),
        ),
    );
  },
};

export const sequences: Check = {
  id: 'objects.sequences',
  severities: 'INFO: sequences are set at cutover',
  title: 'Sequences to set at cutover',
  modes: DATA_MODES,
  passMessage: 'no sequences',
  assess(facts, task) {
    return perDatabase(facts, (db) => {
      const n = db.selected.filter((r) => r.kind === 'sequence').length;
      if (n === 0) return [];
      const when =
        task.mode === 'full+incremental'
          ? 'at cutover (logical replication does not carry them)'
          : 'at the end of the copy';
      return [finding('info', `${plural(n, 'sequence')} will be set ${when}`, displayName(db.name))];
    });
  },
};

export const caseNames: Check = {
  id: 'objects.case_names',
  severities: 'WARN for names that differ only by case',
  title: 'Names differing only by case',
  modes: ALL_MODES,
  passMessage: 'no names that differ only by case',
  assess(facts) {
    return perDatabase(facts, (db) => {
      const groups = new Map<string, Relation[]>();
      for (const r of db.selected) {
        const key = `${r.schema.toLowerCase()}.${r.name.toLowerCase()}`;
        groups.set(key, [...(groups.get(key) ?? []), r]);
      }
      return [...groups.values()]
        .filter((g) => g.length > 1)
        .map((g) =>
          finding(
            'warn',
            `${list(g.map(sqlName))} differ only by case: tools and scripts that fold names to lower case mix them up`,
            displayName(db.name),
            'quote these names everywhere, or rename one of them',
          ),
        );
    });
  },
};

export const dataSize: Check = {
  id: 'objects.size',
  severities: 'INFO: estimated data size',
  title: 'Data to copy',
  modes: DATA_MODES,
  passMessage: 'nothing to copy',
  assess(facts) {
    return perDatabase(facts, (db) => {
      const tables = selectedTables(db).filter((r) => r.kind === 'table');
      const bytes = db.selected.reduce(
        (sum, r) => sum + (r.kind === 'table' || r.kind === 'materialized view' ? r.totalBytes : 0),
        0,
      );
      return [
        finding(
          'info',
          `${plural(tables.length, 'table')}, ${formatBytes(bytes)} with indexes and TOAST`,
          displayName(db.name),
        ),
      ];
    });
  },
};
