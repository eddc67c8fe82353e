import { describe, expect, it } from 'vitest';
import { includePatterns, objectsFromPicks, splitPatterns } from '../../../src/cli/wizard/selection.js';

describe('the wizard pick', () => {
  it('turns ticked schemas and tables into include patterns, a schema swallowing its tables', () => {
    expect(
      includePatterns([
        { schema: 'public', table: 'orders' },
        { schema: 'sales' },
        { schema: 'sales', table: 'leads' },
        { schema: 'Order Items', table: 'x y' },
      ]),
    ).toEqual(['public.orders', 'sales.*', 'Order Items.x y']);
  });

  it('builds the objects section', () => {
    expect(objectsFromPicks('all', [])).toEqual({ databases: 'all' });
    expect(
      objectsFromPicks(
        [
          { name: 'shop', include: [] },
          { name: 'billing', include: ['public.invoices'] },
        ],
        ['public.tmp_*'],
      ),
    ).toEqual({
      databases: ['shop', { name: 'billing', include: ['public.invoices'] }],
      exclude: ['public.tmp_*'],
    });
  });

  it('splits typed patterns on commas and spaces', () => {
    expect(splitPatterns(' public.tmp_*, audit.*  x.y ,')).toEqual(['public.tmp_*', 'audit.*', 'x.y']);
    expect(splitPatterns('')).toEqual([]);
  });
});
