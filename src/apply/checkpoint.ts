import type pg from 'pg';
import { parseLsn, formatLsn, type Lsn } from '../pg/lsn.js';
import * as sql from './sql.js';

/** Whose position a checkpoint row holds. */
export interface CheckpointKey {
  readonly task: string;
  /** The source database (the row lives in the target database its changes go to). */
  readonly database: string;
  readonly slot: string;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The stored apply position: the commit end LSN of the last source transaction on the target. */
export async function readCheckpoint(db: Queryable, key: CheckpointKey): Promise<Lsn | undefined> {
  const { rows } = await db.query(sql.READ_CHECKPOINT, [key.task, key.database]);
  const r = rows[0] as { lsn: string } | undefined;
  return r ? parseLsn(r.lsn) : undefined;
}

/**
 * Store `lsn` as applied. Must run inside the target transaction holding the changes it covers; false when
 * the stored position is already at or past `lsn` (then that transaction must not commit).
 */
export async function writeCheckpoint(
  db: Queryable,
  key: CheckpointKey,
  lsn: Lsn,
  transactions: number,
): Promise<boolean> {
  const r = await db.query(sql.WRITE_CHECKPOINT, [
    key.task,
    key.database,
    key.slot,
    formatLsn(lsn),
    String(transactions),
  ]);
  return (r.rowCount ?? 0) === 1;
}
