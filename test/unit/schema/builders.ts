import type { TableDef } from '../../../src/catalog/schema/types.js';

/** A plain heap table as the catalog reader would map it; tests override what they care about. */
export const tableDef = (
  key: string,
  schema: string,
  name: string,
  over: Partial<TableDef> = {},
): TableDef => ({
  key,
  schema,
  name,
  owner: 'postgres',
  acl: undefined,
  partitioned: false,
  unlogged: false,
  options: [],
  columns: [],
  partitionKey: undefined,
  partitionOf: undefined,
  inherits: [],
  ofType: undefined,
  rowSecurity: false,
  forceRowSecurity: false,
  replicaIdentity: 'default',
  replicaIdentityIndex: undefined,
  clusterOn: undefined,
  ...over,
});
