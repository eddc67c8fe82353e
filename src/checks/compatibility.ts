import { displayIdent, displayName } from '../catalog/display.js';
import type { DatabaseInfo } from '../catalog/types.js';
import { ALL_MODES, finding, need, perDatabase, type Check, type Draft } from './check.js';

/** Settings that change how values are read or printed; they should match on both sides. */
export const BEHAVIOUR_SETTING_NAMES = [
  'TimeZone',
  'DateStyle',
  'IntervalStyle',
  'lc_monetary',
  'lc_numeric',
  'extra_float_digits',
  'standard_conforming_strings',
  'array_nulls',
  'bytea_output',
  'xmlbinary',
  'xmloption',
] as const;

export const extensions: Check = {
  id: 'compat.extensions',
  severities: 'FAIL when an extension is missing on the target; WARN on a version difference',
  title: 'Extensions available on the target',
  modes: ALL_MODES,
  passMessage: 'every extension is available on the target',
  assess(facts) {
    const available = new Map(need(facts.targetExtensions).map((e) => [e.name, e]));
    return perDatabase(facts, (db, src) => {
      const out: Draft[] = [];
      for (const ext of src.extensions) {
        const there = available.get(ext.name);
        const obj = displayName(db.name);
        if (!there)
          out.push(
            finding(
              'fail',
              `extension ${ext.name} ${ext.version} is not available on the target: restoring the schema fails`,
              obj,
              `install ${ext.name} on the target server (its package or files), or drop it from the source database if unused`,
            ),
          );
        else if (there.defaultVersion !== ext.version)
          out.push(
            finding(
              'warn',
              `extension ${ext.name} is ${ext.version} on the source and ${there.defaultVersion ?? 'unknown'} on the target: functions or types may differ`,
              obj,
              there.versions.includes(ext.version)
                ? `ALTER EXTENSION ${displayIdent(ext.name)} UPDATE on the source first, or check that the application works with ${there.defaultVersion}`
                : `check that the application works with ${ext.name} ${there.defaultVersion}`,
            ),
          );
      }
      return out;
    });
  },
};

/** Where a new database's encoding and locale come from: template1 of the target. */
function targetDatabase(
  dbs: readonly DatabaseInfo[],
  name: string,
): { info: DatabaseInfo | undefined; isNew: boolean } {
  const existing = dbs.find((d) => d.name === name);
  return existing
    ? { info: existing, isNew: false }
    : { info: dbs.find((d) => d.name === 'template1'), isNew: true };
}

export const encoding: Check = {
  id: 'compat.encoding',
  severities: 'FAIL on an encoding mismatch',
  title: 'Database encoding matches',
  modes: ALL_MODES,
  passMessage: 'encodings match',
  assess(facts) {
    const src = need(facts.sourceDatabases);
    const tgt = need(facts.targetDatabases);
    const out: Draft[] = [];
    for (const db of need(facts.selection).databases) {
      const s = src.find((d) => d.name === db.name);
      const { info: t, isNew } = targetDatabase(tgt, db.targetName);
      if (!s || !t || s.encoding === t.encoding) continue;
      out.push(
        finding(
          'fail',
          isNew
            ? `encoding ${s.encoding} on the source, but the target creates new databases as ${t.encoding} (template1)`
            : `encoding ${s.encoding} on the source, ${t.encoding} in the existing target database: text may not convert`,
          displayName(db.name),
          `create the target database with the source's encoding: CREATE DATABASE ${displayIdent(db.name)} ENCODING '${s.encoding}' TEMPLATE template0 (dropping the existing one first)`,
        ),
      );
    }
    return out;
  },
};

export const collation: Check = {
  id: 'compat.collation',
  severities: 'WARN on a collation or ctype difference',
  title: 'Database collation and character type match',
  modes: ALL_MODES,
  passMessage: 'collations match',
  assess(facts) {
    const src = need(facts.sourceDatabases);
    const tgt = need(facts.targetDatabases);
    const out: Draft[] = [];
    for (const db of need(facts.selection).databases) {
      const s = src.find((d) => d.name === db.name);
      const { info: t } = targetDatabase(tgt, db.targetName);
      if (!s || !t || (s.collate === t.collate && s.ctype === t.ctype)) continue;
      out.push(
        finding(
          'warn',
          `LC_COLLATE/LC_CTYPE ${s.collate}/${s.ctype} on the source, ${t.collate}/${t.ctype} on the target: text sorts and compares differently (ORDER BY, unique indexes on text)`,
          displayName(db.name),
          `create the target database with LC_COLLATE '${s.collate}' LC_CTYPE '${s.ctype}' TEMPLATE template0, if the target has that locale`,
        ),
      );
    }
    return out;
  },
};

export const behaviourSettings: Check = {
  id: 'compat.settings',
  severities:
    'WARN for settings that differ (TimeZone, DateStyle, IntervalStyle, lc_monetary, extra_float_digits, ...)',
  title: 'Settings that change how values behave',
  modes: ALL_MODES,
  passMessage: 'the behaviour settings match',
  assess(facts) {
    const s = need(facts.sourceSettings);
    const t = need(facts.targetSettings);
    const out: Draft[] = [];
    for (const name of BEHAVIOUR_SETTING_NAMES) {
      const a = s[name]?.value;
      const b = t[name]?.value;
      if (a === undefined || b === undefined || a === b) continue;
      out.push(
        finding(
          'warn',
          `${name} is '${a}' on the source and '${b}' on the target: applications may read or write values differently after the switch`,
          'target',
          `set ${name} = '${a}' on the target (postgresql.conf, or ALTER DATABASE ... SET ${name} = '${a}')`,
        ),
      );
    }
    return out;
  },
};
