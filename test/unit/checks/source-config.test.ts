import { describe, expect, it } from 'vitest';
import { noFact } from '../../../src/catalog/types.js';
import {
  inactiveSlots,
  longTransactions,
  preparedTransactions,
  recovery,
  replicationSlots,
  slotWalKeepSize,
  standbyPrimary,
  walLevel,
  walSenders,
  walSenderTimeout,
} from '../../../src/checks/source-config.js';
import { fact } from '../../../src/catalog/types.js';
import type { PrimaryFacts } from '../../../src/checks/facts.js';
import { judge } from './assess.js';
import { database, facts, server, sourceDb, task } from './fixtures.js';

describe('source.wal_level', () => {
  it.each([
    ['logical', [{ severity: 'pass', message: 'wal_level is logical' }]],
    [
      'replica',
      [
        {
          severity: 'fail',
          object: 'source',
          message:
            'wal_level is replica: logical decoding (and the snapshot the copy reads from) needs logical',
          fix: 'set wal_level = logical in postgresql.conf and restart the source',
        },
      ],
    ],
  ])('%s', (level, expected) => {
    expect(judge(walLevel, facts({ settings: { wal_level: level } }), task())).toEqual(expected);
  });

  it('is an error, not a pass, when the settings could not be read', () => {
    expect(
      judge(walLevel, facts({ sourceSettings: noFact('cannot connect to the source') }), task()),
    ).toEqual([{ severity: 'error', message: 'not run: cannot connect to the source' }]);
  });
});

describe('slots and senders', () => {
  const two = [database(sourceDb()), database(sourceDb({ name: 'crm' }))];
  it.each([
    ['10', 0, 'pass', '10 of 10 slots free, 2 needed'],
    ['2', 1, 'fail', '1 of max_replication_slots = 2 free, but dts needs 2 (one per database)'],
  ])('max_replication_slots %s with %i used: %s', (max, used, severity, message) => {
    const slots = Array.from({ length: used }, (_, i) => ({
      name: `s${i}`,
      type: 'logical' as const,
      active: true,
      database: 'shop',
      retainedBytes: 0,
      walStatus: undefined,
    }));
    const [f] = judge(
      replicationSlots,
      facts({ databases: two, settings: { max_replication_slots: max }, sourceSlots: fact(slots) }),
      task(),
    );
    expect(f).toMatchObject({ severity, message });
  });

  it('wal senders in use count against the limit', () => {
    const f = facts({
      databases: two,
      settings: { max_wal_senders: '3' },
      sourceActivity: fact({ walSendersInUse: 2, transactions: [], prepared: [] }),
    });
    expect(judge(walSenders, f, task())).toEqual([
      {
        severity: 'fail',
        object: 'source',
        message: '1 of max_wal_senders = 3 free, but dts needs 2 (one per database)',
        fix: 'set max_wal_senders = 4 or more in postgresql.conf and restart the source',
      },
    ]);
  });
});

describe('timeouts and WAL retention', () => {
  it.each([
    ['0', 'pass'],
    ['10000', 'pass'],
    ['9999', 'warn'],
  ])('wal_sender_timeout %s ms: %s', (ms, severity) => {
    expect(
      judge(walSenderTimeout, facts({ settings: { wal_sender_timeout: ms } }), task())[0]!.severity,
    ).toBe(severity);
  });

  it.each([
    [130000, '-1', 'info', 'max_slot_wal_keep_size is -1 (unlimited)'],
    [130000, '2048', 'warn', 'max_slot_wal_keep_size is 2048 MB: if dts falls further behind'],
    [120000, '-1', 'info', 'PostgreSQL before 13 keeps WAL for a slot without limit'],
  ])('version %i, max_slot_wal_keep_size %s: %s', (versionNum, mb, severity, text) => {
    const f = facts({ settings: { max_slot_wal_keep_size: mb }, source: fact(server({ versionNum })) });
    const [finding] = judge(slotWalKeepSize, f, task());
    expect(finding!.severity).toBe(severity);
    expect(finding!.message).toContain(text);
  });

  it('inactive slots warn with the WAL they keep', () => {
    const slots = fact([
      {
        name: 'old_slot',
        type: 'logical' as const,
        active: false,
        database: 'shop',
        retainedBytes: 5 * 1024 ** 3,
        walStatus: 'extended',
      },
      {
        name: 'live',
        type: 'logical' as const,
        active: true,
        database: 'shop',
        retainedBytes: 0,
        walStatus: 'reserved',
      },
    ]);
    expect(judge(inactiveSlots, facts({ sourceSlots: slots }), task())).toEqual([
      {
        severity: 'warn',
        object: 'source',
        message: 'inactive logical slot old_slot keeps 5120 MB of WAL (wal_status extended) and uses a slot',
        fix: "if nothing uses it any more: SELECT pg_drop_replication_slot('old_slot')",
      },
    ]);
  });
});

describe('transactions and recovery', () => {
  it('only transactions over the limit warn', () => {
    const activity = fact({
      walSendersInUse: 0,
      transactions: [
        { pid: 42, database: 'shop', user: 'app', state: 'idle in transaction', ageSeconds: 900 },
        { pid: 43, database: 'shop', user: 'app', state: 'active', ageSeconds: 10 },
      ],
      prepared: [{ gid: "it's", database: 'shop', owner: 'app', ageSeconds: 60 }],
    });
    expect(judge(longTransactions, facts({ sourceActivity: activity }), task())).toEqual([
      {
        severity: 'warn',
        object: 'source',
        message:
          'transaction of pid 42 (database shop, user app, idle in transaction) has been open for 15 minutes: creating the replication slot waits until it ends',
        fix: 'end it before running dts (commit in the application, or SELECT pg_terminate_backend(42))',
      },
    ]);
    expect(judge(preparedTransactions, facts({ sourceActivity: activity }), task())[0]!.fix).toBe(
      "COMMIT PREPARED 'it''s' or ROLLBACK PREPARED 'it''s' in database shop",
    );
  });

  it.each([
    [false, 140000, 'pass'],
    [true, 150000, 'fail'],
    [true, 160000, 'fail'],
  ])('in recovery %s on %i: %s', (inRecovery, versionNum, severity) => {
    expect(
      judge(recovery, facts({ source: fact(server({ inRecovery, versionNum })) }), task())[0]!.severity,
    ).toBe(severity);
  });

  it('a 16+ standby: feedback off fails, full+incremental needs source.primary, else a note', () => {
    const standby = { source: fact(server({ inRecovery: true, versionNum: 170000, version: '17.0' })) };
    const off = judge(recovery, facts(standby), task('full'));
    expect(off.map((f) => f.message)).toEqual([
      'the source is a standby with hot_standby_feedback = off: vacuum on the primary can remove catalog rows the slot still needs, and the standby then invalidates the slot in the middle of the migration',
    ]);
    const on = facts({ ...standby, settings: { hot_standby_feedback: 'on' } });
    expect(judge(recovery, on, task())).toEqual([
      {
        severity: 'fail',
        object: 'source',
        message:
          'the source is a standby (read-only): the publication for mode full+incremental must be created on its primary',
        fix: 'add source.primary (url or host/port/user of the primary) to the task file; dts creates and drops only the publication there',
      },
    ]);
    expect(judge(recovery, on, task('full'))[0]!.severity).toBe('info');
    const withPrimary = { ...task(), sourcePrimary: task().source };
    expect(judge(recovery, on, withPrimary)[0]!.severity).toBe('info');
  });

  it('source.primary: a standby, another cluster, wal_level replica, no pg_log_standby_snapshot()', () => {
    const withPrimary = { ...task(), sourcePrimary: task().source };
    const primary = (v: Partial<PrimaryFacts>) =>
      facts({
        replication: { ok: true, value: { systemId: '7', timeline: 1, walPosition: '0/1' } },
        sourcePrimary: {
          ok: true,
          value: {
            inRecovery: false,
            walLevel: 'logical',
            systemId: '7',
            canLogStandbySnapshot: true,
            role: { name: 'app', superuser: false, actsAs: ['app'], createOn: ['shop'] },
            ...v,
          },
        },
      });
    expect(judge(standbyPrimary, primary({}), withPrimary)[0]!.severity).toBe('pass');
    expect(judge(standbyPrimary, primary({}), task())[0]!.severity).toBe('pass');
    const bad = primary({
      inRecovery: true,
      walLevel: 'replica',
      systemId: '8',
      canLogStandbySnapshot: false,
    });
    expect(judge(standbyPrimary, bad, withPrimary).map((f) => `${f.severity} ${f.message}`)).toEqual([
      'fail source.primary is in recovery itself: publications can only be created on a primary',
      'fail wal_level is replica on the primary: logical decoding on a standby needs wal_level = logical on its primary',
      "fail source.primary is another cluster (system identifier 8, the source's is 7)",
      'warn the role may not run pg_log_standby_snapshot() on the primary: making the slot on the standby waits up to 15 s for the primary to log a running-transactions record (forever if it is idle)',
    ]);
  });
});
