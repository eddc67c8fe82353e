import { describe, expect, it } from 'vitest';
import { foreignKeys, inheritance, unknownSelection, views } from '../../../src/checks/dependencies.js';
import { fact } from '../../../src/catalog/types.js';
import { judge } from './assess.js';
import { database, facts, relation, sourceDb, task } from './fixtures.js';

const customers = relation('public', 'customers');
const orders = relation('public', 'orders');
const src = sourceDb({
  relations: [customers, orders],
  foreignKeys: [{ name: 'orders_customer_fkey', table: orders.oid, references: customers.oid }],
});

describe('selection.foreign_keys', () => {
  it('fails a key to an unselected table, naming both', () => {
    expect(judge(foreignKeys, facts({ databases: [database(src, { selected: [orders] })] }), task())).toEqual(
      [
        {
          severity: 'fail',
          object: 'shop.public.orders',
          message:
            'foreign key orders_customer_fkey references public.customers, which is not selected: creating the key on the target fails',
          fix: 'select public.customers too, or exclude public.orders',
        },
      ],
    );
  });

  it('passes when both or only the referenced table are selected', () => {
    for (const selected of [[orders, customers], [customers]])
      expect(
        judge(foreignKeys, facts({ databases: [database(src, { selected })] }), task())[0]!.severity,
      ).toBe('pass');
  });
});

describe('views and inheritance', () => {
  it('a view over an unselected table warns', () => {
    const v = relation('public', 'v', { kind: 'view', dependsOn: [customers.oid, orders.oid] });
    const db = database(sourceDb({ relations: [customers, orders, v] }), { selected: [orders, v] });
    expect(judge(views, facts({ databases: [db] }), task())[0]).toMatchObject({
      severity: 'warn',
      object: 'shop.public.v',
      message:
        'view reads public.customers, which is not selected: creating it on the target fails or it shows no rows',
    });
  });

  it('a parent without its partition, and a partition without its parent', () => {
    const parent = relation('public', 'm', { kind: 'partitioned table' });
    const part = relation('public', 'm_2024', { parents: [parent.oid], isPartition: true });
    const rels = sourceDb({ relations: [parent, part] });
    expect(
      judge(inheritance, facts({ databases: [database(rels, { selected: [parent] })] }), task())[0],
    ).toMatchObject({
      severity: 'warn',
      object: 'shop.public.m',
      message: 'partition public.m_2024 is not selected: its rows are not copied',
    });
    expect(
      judge(inheritance, facts({ databases: [database(rels, { selected: [part] })] }), task())[0],
    ).toMatchObject({
      severity: 'warn',
      object: 'shop.public.m_2024',
      message:
        'partition of public.m, which is not selected: a partition cannot be created without its parent',
    });
  });
});

describe('selection.unknown', () => {
  it('unknown databases and patterns fail with their names', () => {
    const f = facts({
      selection: fact({
        databases: [],
        unknownDatabases: ['Shop'],
        unmatched: [{ database: undefined, pattern: 'public.ordrs', kind: 'include' }],
      }),
    });
    expect(judge(unknownSelection, f, task()).map((x) => [x.severity, x.object, x.message])).toEqual([
      ['fail', '"Shop"', 'unknown database in the selection: "Shop" does not exist on the source'],
      [
        'fail',
        'source',
        'unknown table in the selection: include pattern "public.ordrs" matches nothing in any selected database',
      ],
    ]);
  });
});
