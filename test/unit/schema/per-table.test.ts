import { describe, expect, it } from 'vitest';
import { splitPostData } from '../../../src/schema/per-table.js';
import type { DatabasePlan, PlannedObject } from '../../../src/schema/plan.js';

const obj = (key: string, kind: PlannedObject['kind'], over: Partial<PlannedObject> = {}): PlannedObject => ({
  key,
  kind,
  name: key,
  phase: 'post-data',
  statements: [`-- ${key}`],
  requires: [],
  ...over,
});
const builds = (tableKey: string, name: string) => ({ tableKey, schema: 'app', name });

const plan: DatabasePlan = {
  source: 'shop',
  target: 'shop',
  createDatabase: undefined,
  skipped: [],
  warnings: [],
  objects: [
    obj('t:orders', 'table', { phase: 'pre-data' }),
    obj('c:orders_pkey', 'constraint', { requires: ['t:orders'], builds: builds('t:orders', 'orders_pkey') }),
    obj('c:parent_pkey', 'constraint', { requires: ['t:parent'], builds: builds('t:parent', 'parent_pkey') }),
    obj('i:orders_at', 'index', { requires: ['t:orders'], builds: builds('t:orders', 'orders_at') }),
    obj('i:part_at', 'index', { requires: ['t:part'], builds: builds('t:part', 'part_at') }),
    obj('i:part_at/attach', 'index attachment', { requires: ['c:parent_pkey', 'i:part_at'] }),
    obj('c:orders_fk', 'foreign key', { requires: ['t:orders', 't:customers'] }),
    obj('c:orders_check', 'constraint', { requires: ['t:orders'] }),
    obj('tr:orders', 'trigger', { requires: ['t:orders'] }),
  ],
};

describe('splitPostData', () => {
  it("builds a copied table's keys and indexes with it; parents' keys, attachments and the rest at the end", () => {
    const split = splitPostData(plan, new Set(['t:orders', 't:part']));
    expect(Object.fromEntries([...split.byTable].map(([k, v]) => [k, v.map((o) => o.key)]))).toEqual({
      't:orders': ['c:orders_pkey', 'i:orders_at'],
      't:part': ['i:part_at'],
    });
    // A partitioned parent holds no rows (not copied): its key waits for the end, as do NOT VALID checks.
    expect(split.rest.map((o) => o.key)).toEqual([
      'c:parent_pkey',
      'i:part_at/attach',
      'c:orders_fk',
      'c:orders_check',
      'tr:orders',
    ]);
  });

  it('leaves at the end the keys of a table that is not copied, and anything needing more than its table', () => {
    const split = splitPostData(
      {
        ...plan,
        objects: [
          obj('i:odd', 'index', { requires: ['t:orders', 'f:immutable'], builds: builds('t:orders', 'odd') }),
          ...plan.objects,
        ],
      },
      new Set(['t:part']),
    );
    expect([...split.byTable.keys()]).toEqual(['t:part']);
    expect(split.rest.map((o) => o.key)).toContain('i:odd');
    expect(split.rest.map((o) => o.key)).toContain('c:orders_pkey');
  });
});
