import { describe, expect, it } from 'vitest';
import { replicationNames } from '../../../src/catalog/names.js';
import {
  isSystemSchema,
  matchesGlob,
  resolveDatabases,
  selectObjects,
  unmatchedPatterns,
} from '../../../src/catalog/selection.js';
import { displayName } from '../../../src/catalog/display.js';
import { task } from './fixtures.js';

describe('matchesGlob', () => {
  it.each([
    ['public.*', 'public.orders', true],
    ['public.*', 'sales.orders', false],
    ['*.orders', 'sales.orders', true],
    ['public.order?', 'public.orders', true],
    ['public.order?', 'public.order', false],
    ['public.Order Items', 'public.Order Items', true],
    ['public.orders', 'public.Orders', false],
    ['public.a.b', 'public.aXb', false],
    ['public.(x)+', 'public.(x)+', true],
    ['*', 'anything.at_all', true],
  ])('%s against %s: %s', (pattern, name, expected) => {
    expect(matchesGlob(pattern, name)).toBe(expected);
  });
});

describe('isSystemSchema', () => {
  it.each([
    ['pg_catalog', true],
    ['information_schema', true],
    ['pg_toast', true],
    ['pg_toast_temp_1', true],
    ['_dts', true],
    ['public', false],
    ['pg_stuff', false],
  ])('%s: %s', (schema, expected) => expect(isSystemSchema(schema)).toBe(expected));
});

const rels = [
  'public.orders',
  'public.order_items',
  'public.audit_log',
  'sales.orders',
  'pg_catalog.pg_class',
  '_dts.state',
].map((q) => ({ schema: q.split('.')[0]!, name: q.split('.')[1]! }));
const names = (xs: readonly { schema: string; name: string }[]) => xs.map((x) => `${x.schema}.${x.name}`);

describe('selectObjects', () => {
  it('no include means everything outside system schemas', () => {
    const { selected } = selectObjects(rels, { database: 'shop', include: [], exclude: [] });
    expect(names(selected)).toEqual([
      'public.orders',
      'public.order_items',
      'public.audit_log',
      'sales.orders',
    ]);
  });

  it('include then exclude, and records which patterns matched', () => {
    const r = selectObjects(rels, {
      database: 'shop',
      include: ['public.*', 'nope.*'],
      exclude: ['*.audit_*'],
    });
    expect(names(r.selected)).toEqual(['public.orders', 'public.order_items']);
    expect([...r.matched].sort()).toEqual(['exclude:*.audit_*', 'include:public.*']);
  });

  it('never selects system schemas, even when asked', () => {
    expect(
      selectObjects(rels, { database: 'shop', include: ['pg_catalog.*', '_dts.*'], exclude: [] }).selected,
    ).toEqual([]);
  });
});

describe('resolveDatabases and unmatchedPatterns', () => {
  const dbs = [
    { name: 'shop', allowConnections: true, isTemplate: false },
    { name: 'template1', allowConnections: true, isTemplate: true },
    { name: 'closed', allowConnections: false, isTemplate: false },
    { name: '_dts', allowConnections: true, isTemplate: false },
    { name: 'crm', allowConnections: true, isTemplate: false },
  ];

  it('all: connectable non-template databases, global patterns added', () => {
    const r = resolveDatabases({ databases: 'all', include: ['public.*'], exclude: [] }, dbs);
    expect(r.databases).toEqual([
      { database: 'shop', include: ['public.*'], exclude: [] },
      { database: 'crm', include: ['public.*'], exclude: [] },
    ]);
    expect(r.unknown).toEqual([]);
  });

  it('a list: unknown names come back', () => {
    const r = resolveDatabases(
      {
        databases: [
          { name: 'shop', include: ['a.*'], exclude: [] },
          { name: 'gone', include: [], exclude: [] },
        ],
        include: [],
        exclude: ['x.y'],
      },
      dbs,
    );
    expect(r.databases).toEqual([{ database: 'shop', include: ['a.*'], exclude: ['x.y'] }]);
    expect(r.unknown).toEqual(['gone']);
  });

  it('own patterns judged per database, global ones across all', () => {
    const selection = {
      databases: [
        { name: 'shop', include: ['public.*'], exclude: ['public.nothing'] },
        { name: 'crm', include: [], exclude: [] },
      ],
      include: [],
      exclude: ['*.audit_log', '*.missing'],
    };
    const shop = {
      database: 'shop',
      include: ['public.*'],
      exclude: ['public.nothing', '*.audit_log', '*.missing'],
    };
    const crm = { database: 'crm', include: [], exclude: ['*.audit_log', '*.missing'] };
    const out = unmatchedPatterns(selection, [
      { patterns: shop, matched: selectObjects(rels, shop).matched },
      { patterns: crm, matched: new Set<string>() },
    ]);
    expect(out).toEqual([
      { database: 'shop', pattern: 'public.nothing', kind: 'exclude' },
      { database: undefined, pattern: '*.missing', kind: 'exclude' },
    ]);
  });
});

describe('replicationNames', () => {
  it('prefix, task and database, plain when nothing was lost', () => {
    // 'move-shop' loses its hyphen, so a hash of the exact names keeps it apart from 'move_shop'.
    expect(replicationNames(task(), 'shop').slot).toMatch(/^dts_move_shop_shop_[0-9a-f]{8}$/);
    const plain = replicationNames({ ...task(), name: 'nightly' }, 'shop');
    expect(plain).toEqual({ slot: 'dts_nightly_shop', publication: 'dts_nightly_shop' });
  });

  it('slugs and hashes names that lose information, keeps them apart, stays within 63 chars', () => {
    const t = { ...task(), name: 'nightly' };
    const a = replicationNames(t, 'Shop');
    const b = replicationNames(t, 'shop');
    expect(a.slot).toMatch(/^dts_nightly_shop_[0-9a-f]{8}$/);
    expect(a.slot).not.toBe(b.slot);
    expect(replicationNames(t, 'Shop')).toEqual(a);
    const long = replicationNames(t, 'x'.repeat(100));
    expect(long.slot.length).toBeLessThanOrEqual(63);
    expect(long.slot).toMatch(/^[a-z0-9_]+$/);
  });
});

describe('displayName', () => {
  it('quotes like quote_ident', () => {
    expect(displayName('shop', 'public', 'Order Items')).toBe('shop.public."Order Items"');
    expect(displayName('public', 'select')).toBe('public."select"');
    expect(displayName('public', 'a"b')).toBe('public."a""b"');
    expect(displayName('public', 'ÜberTable')).toBe('public."ÜberTable"');
    expect(displayName('public', 'orders_2024')).toBe('public.orders_2024');
  });
});
