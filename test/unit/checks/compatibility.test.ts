import { describe, expect, it } from 'vitest';
import { behaviourSettings, encoding, extensions } from '../../../src/checks/compatibility.js';
import { fact } from '../../../src/catalog/types.js';
import { judge } from './assess.js';
import { database, facts, sourceDb, task } from './fixtures.js';

describe('compat.extensions', () => {
  const db = database(
    sourceDb({
      extensions: [
        { name: 'postgis', version: '3.4.2' },
        { name: 'hstore', version: '1.7' },
        { name: 'citext', version: '1.6' },
      ],
    }),
  );
  const available = fact([
    { name: 'hstore', defaultVersion: '1.8', versions: ['1.7', '1.8'] },
    { name: 'citext', defaultVersion: '1.6', versions: ['1.6'] },
  ]);

  it('fails a missing extension, warns a different version, passes the same', () => {
    expect(judge(extensions, facts({ databases: [db], targetExtensions: available }), task())).toEqual([
      {
        severity: 'fail',
        object: 'shop',
        message: 'extension postgis 3.4.2 is not available on the target: restoring the schema fails',
        fix: 'install postgis on the target server (its package or files), or drop it from the source database if unused',
      },
      {
        severity: 'warn',
        object: 'shop',
        message: 'extension hstore is 1.7 on the source and 1.8 on the target: functions or types may differ',
        fix: 'ALTER EXTENSION hstore UPDATE on the source first, or check that the application works with 1.8',
      },
    ]);
  });
});

describe('compat.encoding', () => {
  const info = (name: string, enc: string) => ({
    name,
    allowConnections: true,
    isTemplate: name === 'template1',
    encoding: enc,
    collate: 'C',
    ctype: 'C',
    canCreate: true,
    canConnect: true,
  });

  it.each([
    [
      'an existing target database',
      [info('shop', 'LATIN1'), info('template1', 'UTF8')],
      'encoding UTF8 on the source, LATIN1 in the existing target database: text may not convert',
    ],
    [
      'template1 for a new one',
      [info('template1', 'SQL_ASCII')],
      'encoding UTF8 on the source, but the target creates new databases as SQL_ASCII (template1)',
    ],
  ])('fails against %s', (_what, targetDbs, message) => {
    expect(judge(encoding, facts({ targetDatabases: fact(targetDbs) }), task())[0]).toMatchObject({
      severity: 'fail',
      object: 'shop',
      message,
    });
  });
});

describe('compat.settings', () => {
  it('warns each setting that differs', () => {
    const f = facts({ targetSettings: fact({ TimeZone: { value: 'Europe/Berlin', unit: undefined } }) });
    expect(judge(behaviourSettings, f, task())).toEqual([
      {
        severity: 'warn',
        object: 'target',
        message:
          "TimeZone is 'UTC' on the source and 'Europe/Berlin' on the target: applications may read or write values differently after the switch",
        fix: "set TimeZone = 'UTC' on the target (postgresql.conf, or ALTER DATABASE ... SET TimeZone = 'UTC')",
      },
    ]);
  });
});
