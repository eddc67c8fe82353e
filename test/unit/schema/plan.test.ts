import { describe, expect, it } from 'vitest';
import { tableDef } from './builders.js';
import type { SchemaCatalog, TableDef } from '../../../src/catalog/schema/types.js';
import { topologicalOrder } from '../../../src/schema/graph.js';
import { planDatabase, type PlanInput } from '../../../src/schema/plan.js';

describe('topologicalOrder', () => {
  const n = (key: string, rank: number) => ({ key, rank, name: key });
  it('respects dependencies, then rank, then name', () => {
    const { order, cycles } = topologicalOrder(
      [n('view', 8), n('table_b', 7), n('table_a', 7), n('func', 4), n('schema', 0)],
      [
        { from: 'view', to: 'table_b' },
        { from: 'table_a', to: 'func' },
        { from: 'func', to: 'table_b' },
        { from: 'table_b', to: 'schema' },
        { from: 'func', to: 'not-planned' },
      ],
    );
    expect(order).toEqual(['schema', 'table_b', 'func', 'table_a', 'view']);
    expect(cycles).toEqual([]);
  });
  it('breaks a cycle at its lowest-ranked member and says so', () => {
    const { order, cycles } = topologicalOrder(
      [n('a', 7), n('b', 4)],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'a' },
      ],
    );
    expect(order).toEqual(['b', 'a']);
    expect(cycles).toEqual(['b']);
  });
});

const table = (oid: number, schema: string, name: string, over: Partial<TableDef> = {}): TableDef =>
  tableDef(`pg_class:${oid}`, schema, name, over);

/** A small shop: app.orders -> app.customers (FK), orders' default uses app.next_code() and app.code_seq. */
const catalog: SchemaCatalog = {
  serverVersionNum: 140000,
  database: {
    name: 'shop',
    owner: 'postgres',
    encoding: 'UTF8',
    collate: 'C',
    ctype: 'C',
    acl: undefined,
    comment: undefined,
  },
  schemas: [
    { key: 'pg_namespace:1', name: 'app', owner: 'owner', acl: undefined },
    { key: 'pg_namespace:2', name: 'other', owner: 'postgres', acl: undefined },
  ],
  extensions: [],
  collations: [],
  types: [],
  sequences: [
    {
      key: 'pg_class:30',
      schema: 'app',
      name: 'code_seq',
      owner: 'postgres',
      acl: undefined,
      options: {
        dataType: 'bigint',
        start: '1',
        increment: '1',
        min: '1',
        max: '99',
        cache: '1',
        cycle: false,
      },
      ownedBy: { tableKey: 'pg_class:10', column: 'code' },
    },
  ],
  tables: [
    table(10, 'app', 'orders', { partitioned: true, partitionKey: 'HASH (id)' }),
    table(11, 'app', 'orders_p0', {
      partitionOf: { parentKey: 'pg_class:10', bound: 'FOR VALUES WITH (modulus 1, remainder 0)' },
    }),
    table(20, 'app', 'customers', { owner: 'owner' }),
    table(40, 'other', 'unrelated'),
  ],
  views: [],
  routines: [
    {
      key: 'pg_proc:50',
      schema: 'app',
      name: 'next_code',
      owner: 'postgres',
      acl: undefined,
      kind: 'function',
      identityArguments: '',
      definition: 'CREATE OR REPLACE FUNCTION app.next_code() ...',
      aggregate: undefined,
    },
  ],
  constraints: [
    {
      key: 'pg_constraint:60',
      tableKey: 'pg_class:10',
      name: 'orders_customer_fk',
      type: 'foreign-key',
      definition: 'FOREIGN KEY (customer_id) REFERENCES app.customers(id)',
      validated: true,
      isLocal: true,
      noInherit: false,
      parentKey: undefined,
      referencesKey: 'pg_class:20',
      indexKey: undefined,
    },
    {
      key: 'pg_constraint:61',
      tableKey: 'pg_class:10',
      name: 'orders_pkey',
      type: 'primary-key',
      definition: 'PRIMARY KEY (id)',
      validated: true,
      isLocal: true,
      noInherit: false,
      parentKey: undefined,
      referencesKey: undefined,
      indexKey: 'pg_class:70',
    },
    {
      key: 'pg_constraint:62',
      tableKey: 'pg_class:11',
      name: 'orders_p0_pkey',
      type: 'primary-key',
      definition: 'PRIMARY KEY (id)',
      validated: true,
      isLocal: false,
      noInherit: false,
      parentKey: 'pg_constraint:61',
      referencesKey: undefined,
      indexKey: 'pg_class:71',
    },
  ],
  indexes: [
    {
      key: 'pg_class:70',
      tableKey: 'pg_class:10',
      schema: 'app',
      name: 'orders_pkey',
      definition: 'CREATE UNIQUE INDEX orders_pkey ON ONLY app.orders USING btree (id)',
      constraintKey: 'pg_constraint:61',
      parentKey: undefined,
    },
    {
      key: 'pg_class:71',
      tableKey: 'pg_class:11',
      schema: 'app',
      name: 'orders_p0_pkey',
      definition: 'CREATE UNIQUE INDEX orders_p0_pkey ON app.orders_p0 USING btree (id)',
      constraintKey: 'pg_constraint:62',
      parentKey: 'pg_class:70',
    },
  ],
  triggers: [],
  rules: [],
  policies: [],
  eventTriggers: [],
  statistics: [],
  defaultPrivileges: [],
  comments: [],
  dependencies: [
    { from: 'pg_class:10', to: 'pg_namespace:1' },
    { from: 'pg_class:10', to: 'pg_proc:50' },
    { from: 'pg_class:10', to: 'pg_class:30' },
    { from: 'pg_class:30', to: 'pg_class:10' },
    { from: 'pg_class:11', to: 'pg_class:10' },
    { from: 'pg_class:20', to: 'pg_namespace:1' },
    { from: 'pg_proc:50', to: 'pg_namespace:1' },
    { from: 'pg_class:30', to: 'pg_namespace:1' },
    { from: 'pg_class:40', to: 'pg_namespace:2' },
    { from: 'pg_constraint:60', to: 'pg_class:20' },
  ],
};

const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  catalog,
  patterns: { database: 'shop', include: [], exclude: [] },
  targetDatabase: 'shop',
  createDatabase: false,
  roles: { roleMap: {}, missingRoles: 'error', targetRoles: new Set(['postgres', 'owner']) },
  ...over,
});

const names = (i: PlanInput) => planDatabase(i).plan.objects.map((o) => `${o.phase} ${o.kind} ${o.name}`);

describe('planDatabase', () => {
  it('orders a whole database by dependencies, with keys, attachments and foreign keys after the tables', () => {
    expect(names(input())).toEqual([
      'pre-data schema app',
      'pre-data schema other',
      'pre-data function app.next_code()',
      'pre-data sequence app.code_seq',
      'pre-data table app.customers',
      'pre-data table app.orders',
      'pre-data table app.orders_p0',
      'pre-data table other.unrelated',
      'pre-data sequence ownership app.code_seq',
      'post-data constraint orders_pkey on app.orders',
      'post-data constraint orders_p0_pkey on app.orders_p0',
      'post-data index attachment app.orders_p0_pkey to app.orders_pkey',
      'post-data foreign key orders_customer_fk on app.orders',
    ]);
    const { plan } = planDatabase(input());
    expect(plan.objects.find((o) => o.kind === 'index attachment')!.statements).toEqual([
      'ALTER INDEX "app"."orders_pkey" ATTACH PARTITION "app"."orders_p0_pkey"',
    ]);
    expect(plan.objects.find((o) => o.name === 'app.orders_p0')!.requires).toEqual(['pg_class:10']);
  });

  it('a partial selection brings partitions and what the tables need, and skips foreign keys out of it', () => {
    const { plan } = planDatabase(
      input({ patterns: { database: 'shop', include: ['app.orders'], exclude: [] } }),
    );
    expect(plan.objects.map((o) => `${o.kind} ${o.name}`)).toEqual([
      'schema app',
      'function app.next_code()',
      'sequence app.code_seq',
      'table app.orders',
      'table app.orders_p0',
      'sequence ownership app.code_seq',
      'constraint orders_pkey on app.orders',
      'constraint orders_p0_pkey on app.orders_p0',
      'index attachment app.orders_p0_pkey to app.orders_pkey',
    ]);
    expect(plan.skipped).toEqual([
      {
        kind: 'foreign key',
        name: 'orders_customer_fk on app.orders',
        reason: 'it references app.customers that is not selected',
      },
    ]);
  });

  it('reports roles missing on the target; with skip, leaves their ownership out', () => {
    const roles = { roleMap: { owner: 'new_owner' }, targetRoles: new Set(['postgres']) };
    const strict = planDatabase(input({ roles: { ...roles, missingRoles: 'error' } }));
    expect(strict.missingRoles).toEqual(['new_owner']);
    const lenient = planDatabase(input({ roles: { ...roles, missingRoles: 'skip' } }));
    const customers = lenient.plan.objects.find((o) => o.name === 'app.customers')!;
    expect(customers.statements.some((s) => s.includes('OWNER TO'))).toBe(false);
    expect(lenient.plan.skipped).toContainEqual(expect.objectContaining({ kind: 'role', name: 'new_owner' }));
  });

  it('creates the database when asked, with its encoding and locale', () => {
    expect(planDatabase(input({ createDatabase: true, targetDatabase: 'shop 2' })).plan.createDatabase).toBe(
      `CREATE DATABASE "shop 2" OWNER "postgres" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
  });
});
