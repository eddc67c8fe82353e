import { formatLsn, maxLsn, type Lsn } from '../pg/lsn.js';

/**
 * The sync loop's bookkeeping of LSN watermarks, pure so every rule is unit-tested without a server.
 *
 * Watermarks (each documented once, here):
 * - `applied`: commit end LSN of the last source transaction whose changes *and* this position were
 *   committed together on the target. Only a target COMMIT moves it (`durable()`); keepalives never do.
 * - `received`: commit end LSN of the last transaction received (maybe applied but not yet committed).
 * - `confirmable`: what the slot may be told. `applied`, or a keepalive's walEnd under the heartbeat rule.
 * - `stopAt` (optional): apply every transaction whose commit record starts before it, then stop.
 *
 * Heartbeat rule: a keepalive's walEnd is the walsender's sent position, a record end; every transaction
 * committing below it was sent before the keepalive. Confirming walEnd is safe only when, at the moment
 * the keepalive is *processed in stream order*, no transaction is open (between BEGIN and COMMIT) and
 * every received transaction is durably applied (`received <= applied`). Then nothing dts still needs lies
 * below walEnd: transactions still running on the source commit later, above it, and the slot's
 * restart_lsn keeps their changes. If anything received is not yet durable, walEnd is ignored.
 */
export class SyncCursor {
  private appliedLsn: Lsn;
  private receivedLsn: Lsn;
  private heartbeat: Lsn;
  private open: 'apply' | 'skip' | undefined;
  private finished = false;

  constructor(
    applied: Lsn,
    readonly stopAt: Lsn | undefined,
  ) {
    this.appliedLsn = applied;
    this.receivedLsn = applied;
    this.heartbeat = applied;
    if (stopAt !== undefined && applied >= stopAt) this.finished = true;
  }

  get applied(): Lsn {
    return this.appliedLsn;
  }

  /** The position the slot may be told (never above what is safe, see the heartbeat rule). */
  get confirmable(): Lsn {
    return maxLsn(this.appliedLsn, this.heartbeat);
  }

  /** Inside a source transaction (its COMMIT not received yet). */
  get inTransaction(): boolean {
    return this.open !== undefined;
  }

  /** Received transactions whose changes are in the open target transaction, not committed yet. */
  get pending(): boolean {
    return this.receivedLsn > this.appliedLsn;
  }

  /** Every transaction before `stopAt` is durably applied. */
  get done(): boolean {
    return this.finished && !this.pending && this.open === undefined;
  }

  /**
   * A BEGIN. `apply` it, `skip` it (its commit ends at or below `applied`: already on the target, e.g.
   * re-sent after a reconnect), or `stop` (it commits at or after stopAt, so it is not ours to apply).
   * The decision compares commit positions only: the walsender sends whole transactions in commit order,
   * so a BEGIN's position says nothing about order (a transaction that began first may commit last).
   */
  begin(finalLsn: Lsn): 'apply' | 'skip' | 'stop' {
    if (this.open) throw new Error(`pgoutput: BEGIN at ${formatLsn(finalLsn)} inside a transaction`);
    if (finalLsn < this.appliedLsn) {
      this.open = 'skip';
      return 'skip';
    }
    if (this.stopAt !== undefined && finalLsn >= this.stopAt) {
      this.finished = true;
      return 'stop';
    }
    if (finalLsn < this.receivedLsn)
      throw new Error(
        `pgoutput: transactions out of commit order (${formatLsn(finalLsn)} after ${formatLsn(this.receivedLsn)})`,
      );
    this.open = 'apply';
    return 'apply';
  }

  /** Changes of the open transaction are applied unless it is being skipped. */
  get applying(): boolean {
    return this.open === 'apply';
  }

  /** A COMMIT; true when the transaction was applied (so its end LSN is now pending). */
  commit(endLsn: Lsn): boolean {
    const was = this.open;
    if (!was) throw new Error(`pgoutput: COMMIT at ${formatLsn(endLsn)} without BEGIN`);
    this.open = undefined;
    if (was === 'skip') return false;
    this.receivedLsn = endLsn;
    if (this.stopAt !== undefined && endLsn >= this.stopAt) this.finished = true;
    return true;
  }

  /**
   * The target committed the transactions received up to `upTo` (by default everything received so far),
   * with that position stored. Later ones may still be in the next batch, not durable yet.
   */
  durable(upTo: Lsn = this.receivedLsn): Lsn {
    if (upTo > this.receivedLsn)
      throw new Error(
        `apply: ${formatLsn(upTo)} made durable but not received (${formatLsn(this.receivedLsn)})`,
      );
    this.appliedLsn = maxLsn(this.appliedLsn, upTo);
    return this.appliedLsn;
  }

  /** The commit LSN the next target COMMIT stores. */
  get received(): Lsn {
    return this.receivedLsn;
  }

  /** The open target transaction was rolled back: what it held will be received again. */
  rolledBack(): void {
    this.receivedLsn = this.appliedLsn;
    this.open = undefined;
  }

  /** A keepalive, processed in stream order. Never moves `applied`; see the heartbeat rule above. */
  keepalive(walEnd: Lsn): void {
    if (this.open !== undefined || this.pending) return;
    if (walEnd > this.heartbeat) this.heartbeat = walEnd;
    if (this.stopAt !== undefined && reaches(walEnd, this.stopAt)) this.finished = true;
  }
}

/** WAL page size (XLOG_BLCKSZ; 8 kB unless PostgreSQL was built otherwise) and its largest page header. */
const WAL_PAGE = 8192n;
const LONG_PAGE_HEADER = 40n;

/**
 * Has the walsender's position `walEnd` (a record end) reached `stopAt`? Also when `stopAt` lies inside the
 * header of the page starting at `walEnd` (pg_current_wal_insert_lsn() points past the header when the last
 * record ended on a page boundary): no record can start there, so waiting for walEnd to pass it would hang
 * on an idle source.
 */
export function reaches(walEnd: Lsn, stopAt: Lsn): boolean {
  if (walEnd >= stopAt) return true;
  return walEnd % WAL_PAGE === 0n && stopAt - walEnd <= LONG_PAGE_HEADER;
}
