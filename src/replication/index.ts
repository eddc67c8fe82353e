export {
  syncDatabase,
  targetDatabaseFor,
  type SyncDeps,
  type SyncProgress,
  type SyncResult,
} from './sync.js';
export { UNCHANGED, type Change, type Relation, type RelationColumn, type Value } from './change.js';
export type { Lsn } from '../pg/lsn.js';
