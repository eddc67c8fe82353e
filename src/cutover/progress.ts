import type { SyncProgress } from '../replication/index.js';
import { applyRate, type CounterSample } from '../state/lag.js';
import {
  recordSyncProgress,
  resetSyncProgress,
  type Queryable,
  type SyncProgressRecord,
} from '../state/store.js';

/** How often the runner writes its sync figures to `_dts` (DTS_SYNC_STATUS_MS overrides it, for tests). */
const WRITE_MS = Number(process.env.DTS_SYNC_STATUS_MS ?? 1000) || 1000;

interface Latest {
  progress: SyncProgress;
  /** Counts of earlier sync calls of this run (the cutover's drain starts its own from 0). */
  base: { transactions: number; changes: number; reconnects: number };
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  sample: CounterSample | undefined;
}

/**
 * Keeps each database's latest SyncProgress and writes it to `_dts.sync_progress` every second or so: one
 * UPSERT per database, also when nothing changed (its age tells `dts status` the runner is alive and
 * current). A failed write is retried at the next tick; sync itself reports a lost target.
 */
export class SyncProgressWriter {
  private readonly latest = new Map<string, Latest>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly task: string,
    private readonly everyMs = WRITE_MS,
  ) {}

  /** Zero the counters of the previous run, then write every interval. */
  async start(): Promise<void> {
    await resetSyncProgress(this.db, this.task);
    this.timer = setInterval(() => void this.flush(), this.everyMs);
    this.timer.unref();
  }

  /** A sync call starts: its counters add to what the earlier calls of this run counted. */
  nextCall(): void {
    for (const l of this.latest.values()) l.base = this.totals(l);
  }

  readonly onProgress = (p: SyncProgress): void => {
    const l = this.latest.get(p.database) ?? {
      progress: p,
      base: { transactions: 0, changes: 0, reconnects: 0 },
      lastError: undefined,
      lastErrorAt: undefined,
      sample: undefined,
    };
    // A reconnecting report carries no positions: keep the last ones known.
    l.progress =
      p.state === 'reconnecting'
        ? { ...l.progress, ...p, appliedLsn: l.progress.appliedLsn, confirmedLsn: l.progress.confirmedLsn }
        : p;
    if (p.error !== undefined) {
      l.lastError = p.error;
      l.lastErrorAt = new Date();
    }
    this.latest.set(p.database, l);
  };

  private totals(l: Latest) {
    return {
      transactions: l.base.transactions + l.progress.transactions,
      changes: l.base.changes + l.progress.changes,
      reconnects: l.base.reconnects + l.progress.reconnects,
    };
  }

  /** Write every database's latest figures now (one write at a time). */
  async flush(): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = (async () => {
      for (const l of this.latest.values()) {
        const t = this.totals(l);
        const sample = { at: Date.now(), transactions: t.transactions, changes: t.changes };
        const rate = applyRate(l.sample, sample);
        l.sample = sample;
        const p = l.progress;
        const record: SyncProgressRecord = {
          database: p.database,
          state: p.state,
          appliedLsn: p.appliedLsn || undefined,
          appliedCommitTime: p.appliedCommitTime ? new Date(p.appliedCommitTime) : undefined,
          confirmedLsn: p.confirmedLsn || undefined,
          receivedLsn: p.receivedLsn || undefined,
          idle: p.state !== 'reconnecting' && p.idle === true,
          ...t,
          txRate: rate.txPerSecond,
          rowRate: rate.rowsPerSecond,
          lastError: l.lastError,
          lastErrorAt: l.lastErrorAt,
        };
        await recordSyncProgress(this.db, this.task, record).catch(() => undefined);
      }
    })().finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Stop writing, after a last write. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.flush();
  }
}
