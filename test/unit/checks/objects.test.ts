import { describe, expect, it } from 'vitest';
import {
  largeObjects,
  replicaIdentity,
  replicaIdentityFull,
  unlogged,
  caseNames,
  sequences,
} from '../../../src/checks/objects.js';
import { judge } from './assess.js';
import { database, facts, relation, sourceDb, task } from './fixtures.js';

const withTables = (...relations: ReturnType<typeof relation>[]) =>
  facts({ databases: [database(sourceDb({ relations }))] });

describe('objects.replica_identity', () => {
  const noKey = relation('public', 'Order Items', {
    hasPrimaryKey: false,
    identityCandidates: ['order_items_code'],
  });

  it.each([
    [
      'full+incremental',
      {
        severity: 'fail',
        object: 'shop.public."Order Items"',
        message:
          'no primary key and replica identity DEFAULT: UPDATE/DELETE on the live source would start failing once the table is in the publication',
        fix: 'ALTER TABLE public."Order Items" REPLICA IDENTITY FULL, or ALTER TABLE public."Order Items" REPLICA IDENTITY USING INDEX order_items_code, or exclude the table from the task',
      },
    ],
    [
      'full',
      {
        severity: 'info',
        object: 'shop.public."Order Items"',
        message:
          'no primary key and replica identity DEFAULT: fine for a one-time copy, but it cannot be replicated later',
      },
    ],
  ] as const)('%s', (mode, expected) => {
    expect(judge(replicaIdentity, withTables(noKey), task(mode))).toEqual([expected]);
  });

  it.each([
    ['a primary key', relation('public', 't')],
    ['replica identity FULL', relation('public', 't', { hasPrimaryKey: false, replicaIdentity: 'full' })],
    [
      'replica identity USING INDEX',
      relation('public', 't', { hasPrimaryKey: false, replicaIdentity: 'index' }),
    ],
    ['a view', relation('public', 'v', { kind: 'view', hasPrimaryKey: false })],
  ])('passes %s', (_what, r) => {
    expect(judge(replicaIdentity, withTables(r), task())).toEqual([
      { severity: 'pass', message: 'every selected table has a primary key or a replica identity' },
    ]);
  });

  it('without a unique index the fix offers FULL or exclusion only', () => {
    const [f] = judge(
      replicaIdentity,
      withTables(relation('public', 'log', { hasPrimaryKey: false, replicaIdentity: 'nothing' })),
      task(),
    );
    expect(f!.fix).toBe('ALTER TABLE public.log REPLICA IDENTITY FULL, or exclude the table from the task');
    expect(f!.message).toContain('replica identity NOTHING');
  });
});

describe('other object checks', () => {
  it('REPLICA IDENTITY FULL warns only from the size limit on', () => {
    const big = relation('public', 'big', { replicaIdentity: 'full', totalBytes: 2 * 1024 ** 3 });
    const small = relation('public', 'small', { replicaIdentity: 'full', totalBytes: 1024 });
    const out = judge(replicaIdentityFull, withTables(big, small), task());
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      severity: 'warn',
      object: 'shop.public.big',
      fix: 'add a primary key to public.big',
    });
  });

  it.each([
    ['full+incremental', 'fail'],
    ['full', 'warn'],
  ] as const)('unlogged table in %s: %s', (mode, severity) => {
    const [f] = judge(unlogged, withTables(relation('public', 'scratch', { unlogged: true })), task(mode));
    expect(f).toMatchObject({ severity, object: 'shop.public.scratch' });
  });

  it.each([
    [
      'full+incremental',
      'warn',
      '2 large objects: copied in the full phase, later changes are not replicated (logical decoding does not carry them)',
    ],
    ['full', 'info', '2 large objects: copied once with the data'],
  ] as const)('large objects in %s', (mode, severity, message) => {
    const f = facts({ databases: [database(sourceDb({ largeObjects: 2 }))] });
    expect(judge(largeObjects, f, task(mode))[0]).toMatchObject({ severity, message, object: 'shop' });
  });

  it('names differing only by case', () => {
    expect(
      judge(caseNames, withTables(relation('public', 'Users'), relation('public', 'users')), task())[0],
    ).toMatchObject({
      severity: 'warn',
      message:
        'public."Users", public.users differ only by case: tools and scripts that fold names to lower case mix them up',
    });
  });

  it('sequences are counted with when they are set', () => {
    const f = withTables(
      relation('public', 'a_seq', { kind: 'sequence' }),
      relation('public', 'b_seq', { kind: 'sequence' }),
    );
    expect(judge(sequences, f, task())).toEqual([
      {
        severity: 'info',
        object: 'shop',
        message: '2 sequences will be set at cutover (logical replication does not carry them)',
      },
    ]);
  });
});
