import { describe, expect, it } from 'vitest';
import { noFact } from '../../../src/catalog/types.js';
import {
  inactiveSlots,
  longTransactions,
  preparedTransactions,
  recovery,
  replicationSlots,
  slotWalKeepSize,
  walLevel,
  walSenders,
  walSenderTimeout,
} from '../../../src/checks/source-config.js';
import { fact } from '../../../src/catalog/types.js';
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
    [true, 160000, 'warn'],
  ])('in recovery %s on %i: %s', (inRecovery, versionNum, severity) => {
    expect(
      judge(recovery, facts({ source: fact(server({ inRecovery, versionNum })) }), task())[0]!.severity,
    ).toBe(severity);
  });
});
