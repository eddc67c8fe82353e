import { parseLsn, type Lsn } from '../pg/lsn.js';

/**
 * The arithmetic of incremental sync's figures, pure so every rule is unit-tested without a server.
 * The runner writes what it knows to `_dts.sync_progress`; `dts status` and `dts complete --wait-for-lag`
 * add the source's live position and compute the lag here.
 */

/** Counters at one moment, for a rate between two of them. */
export interface CounterSample {
  /** Milliseconds (any clock, the same for both samples). */
  readonly at: number;
  readonly transactions: number;
  readonly changes: number;
}

/** Applied source transactions and rows (changes) per second between two samples; 0 over no time. */
export function applyRate(
  before: CounterSample | undefined,
  now: CounterSample,
): { readonly txPerSecond: number; readonly rowsPerSecond: number } {
  if (!before || now.at <= before.at) return { txPerSecond: 0, rowsPerSecond: 0 };
  const seconds = (now.at - before.at) / 1000;
  // Counters restart with a new sync call (the cutover's drain): never a negative rate.
  return {
    txPerSecond: Math.max(0, now.transactions - before.transactions) / seconds,
    rowsPerSecond: Math.max(0, now.changes - before.changes) / seconds,
  };
}

/**
 * A runner's figures are trusted as current while it writes them: it writes every second or so, so a
 * row older than this comes from a runner that is stopped, paused or cut off from the target.
 */
export const FRESH_MS = 5_000;

/** What the runner last wrote for one database (see `_dts.sync_progress`). */
export interface RunnerFigures {
  readonly appliedLsn: string | undefined;
  readonly confirmedLsn: string | undefined;
  readonly appliedCommitTime: Date | undefined;
  readonly idle: boolean;
  /** How long ago the runner wrote them, by the target's clock. */
  readonly ageMs: number;
}

/** The source's live figures, read by the one computing the lag. */
export interface SourceFigures {
  /** pg_current_wal_lsn(). */
  readonly currentLsn: string;
  /** The source's clock (now()), so the lag in seconds does not depend on the reader's clock. */
  readonly now: Date;
}

export interface Lag {
  /**
   * Bytes of source WAL after what the target has: the source's current position minus the later of the
   * applied position and the position the slot was confirmed at (on an idle source the heartbeat confirms
   * past the last applied commit: nothing before it is left to apply). Undefined without the source.
   */
  readonly bytes: number | undefined;
  /**
   * Seconds between the source's now and the commit time of the last transaction applied, or 0 when the
   * target is caught up (no WAL left, or a live runner had nothing left to apply at its last write).
   * Undefined when nothing tells (no commit applied yet and no snapshot time).
   */
  readonly seconds: number | undefined;
  readonly caughtUp: boolean;
}

/** The lag of one database. `since` stands in for the commit time before any transaction was applied. */
export function computeLag(
  runner: RunnerFigures,
  source: SourceFigures | undefined,
  opts: { readonly runnerAlive: boolean; readonly since?: Date; readonly now: Date },
): Lag {
  const positions = [runner.appliedLsn, runner.confirmedLsn].filter((x): x is string => x !== undefined);
  const done: Lsn | undefined = positions.length
    ? positions.map(parseLsn).reduce((a, b) => (a >= b ? a : b))
    : undefined;
  const bytes =
    source && done !== undefined ? Math.max(0, Number(parseLsn(source.currentLsn) - done)) : undefined;
  const runnerSaysIdle = opts.runnerAlive && runner.idle && runner.ageMs <= FRESH_MS;
  const caughtUp = bytes === 0 || (runnerSaysIdle && (bytes === undefined || bytes < IDLE_SLACK_BYTES));
  const reference = runner.appliedCommitTime ?? opts.since;
  const now = source?.now ?? opts.now;
  const seconds = caughtUp
    ? 0
    : reference
      ? Math.max(0, (now.getTime() - reference.getTime()) / 1000)
      : undefined;
  return { bytes, seconds, caughtUp };
}

/**
 * An idle runner's confirmed position trails the source by the WAL written since its last heartbeat (a
 * second at most): a checkpoint or a running-transactions record, a few hundred bytes, no transaction of
 * the task's tables. Up to this much, an idle live runner is caught up.
 */
export const IDLE_SLACK_BYTES = 64 * 1024;

/** The largest lag in seconds of several databases (undefined when one is unknown). */
export function worstLagSeconds(lags: readonly Pick<Lag, 'seconds'>[]): number | undefined {
  let worst = 0;
  for (const l of lags) {
    if (l.seconds === undefined) return undefined;
    worst = Math.max(worst, l.seconds);
  }
  return worst;
}
