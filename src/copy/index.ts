export { runFullLoad, stopError, type FullLoadDeps, type StopReason } from './full-load.js';
export type * from './events.js';
export { FULL_LOAD_PHASES } from './events.js';
export type * from './report.js';
export type * from './types.js';
export { planCopy, copyInSql, copyOutSql, chooseFormat, blockRanges } from './plan.js';
