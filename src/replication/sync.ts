import { targetDatabaseName } from '../catalog/selection.js';
import { Applier } from '../apply/applier.js';
import { replicationNames } from '../catalog/names.js';
import { DtsError, ExitCode, isDtsError } from '../errors.js';
import { connect, type Connection } from '../pg/connect.js';
import { isPgServerError, serverErrorIn, sqlError } from '../pg/errors.js';
import { formatLsn, maxLsn, ZERO_LSN, type Lsn } from '../pg/lsn.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import { SyncCursor } from './cursor.js';
import { ReplicationStream } from './stream.js';

export interface SyncProgress {
  readonly database: string;
  readonly state: 'streaming' | 'reconnecting' | 'done';
  /** Commit end LSN of the last source transaction durably applied. */
  readonly appliedLsn: string;
  /** What the slot was told (applied, or an idle source's position under the heartbeat rule). */
  readonly confirmedLsn: string;
  readonly transactions: number;
  readonly changes: number;
  readonly reconnects: number;
  /** The failure a reconnect follows. */
  readonly error?: string;
  /** The source's commit time of the last transaction durably applied (ISO 8601), once one was. */
  readonly appliedCommitTime?: string;
  /** The furthest position the stream delivered: a commit received or a keepalive's position. */
  readonly receivedLsn?: string;
  /** Nothing received is waiting to be applied (and no source transaction is open). */
  readonly idle?: boolean;
}

export interface SyncDeps {
  /** Start here when the target has no stored position yet (the full load's consistent point). */
  readonly fromLsn?: Lsn;
  /** Apply every transaction whose commit record starts before this, then return. */
  readonly stopAt?: Lsn;
  /** Stop cleanly: commit what is complete, confirm it, close. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SyncProgress) => void;
  /** Defaults to the task's rule: one listed database goes into the target endpoint's database. */
  readonly targetDatabase?: string;
  readonly prompt?: PasswordPrompt;
  /** Give up when reconnecting has failed for this long (default 10 minutes). */
  readonly giveUpAfterMs?: number;
  /** Status update interval on the stream (default 10 s). */
  readonly statusIntervalMs?: number;
  /** Sees each session's stream once it runs (tests use it to cut the connection like a crash would). */
  readonly onSession?: (session: { stream: ReplicationStream; target: Connection }) => void;
}

export interface SyncResult {
  readonly database: string;
  readonly targetDatabase: string;
  readonly appliedLsn: Lsn;
  readonly stoppedBy: 'stopAt' | 'signal';
  /** Source transactions applied by this call. */
  readonly transactions: number;
  readonly changes: number;
  /** False when the target refused session_replication_role = replica (triggers and FK checks ran). */
  readonly replicaRole: boolean;
  readonly reconnects: number;
  readonly durationMs: number;
}

/** A batch is committed at a transaction boundary once it is this large or old, or the stream is idle. */
const BATCH_TRANSACTIONS = 5_000;
const BATCH_CHANGES = 20_000;
const BATCH_MS = 1_000;
/** While waiting for stopAt on an idle source, ask the walsender for its position this often. */
const PING_MS = 200;
/**
 * Otherwise, on an idle stream, this often: the keepalive answering it moves the slot on (the heartbeat
 * rule) and keeps status' figures fresh, so an idle task shows no lag.
 */
const IDLE_PING_MS = 1_000;

/** Which target database a source database goes into (the schema stage's rule). */
export function targetDatabaseFor(task: Task, database: string): string {
  return targetDatabaseName(task.objects, task.target.database, database);
}

/**
 * Incremental sync of one database: stream the task's slot (pgoutput over the task's publication) and
 * apply each transaction exactly once, reconnecting with backoff when the source, the target or the
 * network fails. Returns when `stopAt` is reached or `signal` aborts.
 */
export async function syncDatabase(task: Task, database: string, deps: SyncDeps = {}): Promise<SyncResult> {
  const started = Date.now();
  const targetDatabase = deps.targetDatabase ?? targetDatabaseFor(task, database);
  const totals = {
    transactions: 0,
    changes: 0,
    reconnects: 0,
    replicaRole: true,
    applied: deps.fromLsn ?? ZERO_LSN,
    appliedCommitTimeUs: undefined as bigint | undefined,
  };
  let backoff = 250;
  let failingSince: number | undefined;
  for (;;) {
    const progressBefore = totals.transactions;
    try {
      const out = await session(task, database, targetDatabase, deps, totals).catch(async (e: unknown) => {
        if (!(e instanceof StopBefore)) throw e;
        // The schema changed inside a transaction that shared its target transaction with complete
        // earlier ones: stream again up to that transaction, so those are committed, then stop.
        const stopAt = deps.stopAt !== undefined && deps.stopAt < e.before ? deps.stopAt : e.before;
        await session(task, database, targetDatabase, { ...deps, stopAt }, totals);
        throw e.error;
      });
      const { transactions, changes, reconnects, replicaRole } = totals;
      const counts = { transactions, changes, reconnects, replicaRole };
      return { database, targetDatabase, ...out, ...counts, durationMs: Date.now() - started };
    } catch (e) {
      if (!transient(e)) throw e;
      if (totals.transactions > progressBefore) {
        backoff = 250;
        failingSince = undefined;
      }
      failingSince ??= Date.now();
      if (Date.now() - failingSince > (deps.giveUpAfterMs ?? 600_000)) throw e;
      totals.reconnects++;
      deps.onProgress?.({
        database,
        state: 'reconnecting',
        appliedLsn: '',
        confirmedLsn: '',
        transactions: totals.transactions,
        changes: totals.changes,
        reconnects: totals.reconnects,
        error: retryMessage(e),
      });
      if (!(await delay(backoff, deps.signal))) {
        // Aborted while waiting to reconnect: nothing is open, the stored position stands.
        const { applied, appliedCommitTimeUs: _, ...counts } = totals;
        return {
          database,
          targetDatabase,
          appliedLsn: applied,
          stoppedBy: 'signal',
          ...counts,
          durationMs: Date.now() - started,
        };
      }
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
}

async function session(
  task: Task,
  database: string,
  targetDatabase: string,
  deps: SyncDeps,
  totals: {
    transactions: number;
    changes: number;
    reconnects: number;
    replicaRole: boolean;
    applied: Lsn;
    appliedCommitTimeUs: bigint | undefined;
  },
): Promise<{ appliedLsn: Lsn; stoppedBy: 'stopAt' | 'signal' }> {
  const { slot, publication } = replicationNames(task, database);
  const prompt = deps.prompt ? { prompt: deps.prompt } : {};
  const target = await connect(task.target, {
    side: 'target',
    database: targetDatabase,
    rawValues: true,
    ...prompt,
  });
  let stream: ReplicationStream | undefined;
  let applier: Applier | undefined;
  try {
    applier = await Applier.open(target, { task: task.name, database, slot }).catch((e: unknown) => {
      throw transient(e) ? e : sqlError(e, 'target', 'preparing the apply session');
    });
    totals.replicaRole = applier.replicaRole;
    const cursor = new SyncCursor(
      maxLsn(applier.position ?? ZERO_LSN, deps.fromLsn ?? ZERO_LSN),
      deps.stopAt,
    );
    totals.applied = cursor.applied;
    if (cursor.done) return { appliedLsn: cursor.applied, stoppedBy: 'stopAt' };
    if (deps.signal?.aborted) return { appliedLsn: cursor.applied, stoppedBy: 'signal' };

    const source = await connect(task.source, {
      side: 'source',
      database,
      replication: true,
      rawValues: true,
      ...prompt,
    });
    stream = await ReplicationStream.open(source, {
      slot,
      publication,
      from: cursor.applied,
      ...(deps.statusIntervalMs ? { statusIntervalMs: deps.statusIntervalMs } : {}),
    }).catch(async (e: unknown) => {
      await source.close();
      throw e;
    });
    deps.onSession?.({ stream, target });
    const s = stream;
    const a = applier;
    let batchTransactions = 0;
    let batchStarted = 0;
    // The open source transaction: its commit position, and the applier's change count at its BEGIN.
    let openFinal: Lsn = ZERO_LSN;
    let changesAtBegin = 0;
    let lastPing = 0;
    let receivedCommitTimeUs: bigint | undefined;
    let streamed = cursor.applied;

    const report = (state: SyncProgress['state']) =>
      deps.onProgress?.({
        database,
        state,
        appliedLsn: formatLsn(cursor.applied),
        confirmedLsn: formatLsn(s.confirmedLsn),
        transactions: totals.transactions,
        changes: totals.changes,
        reconnects: totals.reconnects,
        ...(totals.appliedCommitTimeUs !== undefined
          ? { appliedCommitTime: new Date(Number(totals.appliedCommitTimeUs / 1000n)).toISOString() }
          : {}),
        receivedLsn: formatLsn(maxLsn(streamed, cursor.received)),
        idle: !cursor.inTransaction && !cursor.pending,
      });

    /*
     * A schema change stops sync, but the complete transactions batched before the one that shows it are
     * committed first (with their checkpoint), so the stop position is exactly before that transaction.
     * When that transaction has changes in the batch already, they cannot be taken out of the target
     * transaction: roll back and stream again up to it (StopBefore, handled in syncDatabase).
     */
    const schemaStop = async (e: unknown): Promise<unknown> => {
      if (!(isDtsError(e) && e.code === 'source-schema-changed')) return e;
      await settleCommit();
      if (!cursor.pending) return e;
      if (cursor.applying && a.changes !== changesAtBegin) return new StopBefore(openFinal, e);
      await commitBatch();
      return e;
    };
    /*
     * Committing a batch: the target works on it while the loop decodes the next one. The commit in flight
     * is awaited before the next one starts, before anything that needs every received transaction durable
     * (an idle stream, a keepalive, stopping), and its failure is thrown there.
     */
    let inCommit: Promise<void> | undefined;
    // The commit in flight has returned (or failed): settleCommit() takes its outcome without waiting.
    let committed = false;
    const startCommit = async () => {
      await settleCommit();
      // Nothing received since the last commit started (it covers everything up to cursor.received).
      if (batchTransactions === 0) return;
      const lsn = cursor.received;
      const count = batchTransactions;
      const commitTimeUs = receivedCommitTimeUs;
      batchTransactions = 0;
      const done = a.commit(lsn, count).then(() => {
        totals.transactions += count;
        totals.applied = cursor.durable(lsn);
        totals.appliedCommitTimeUs = commitTimeUs ?? totals.appliedCommitTimeUs;
        // The only place the slot is confirmed after data: right after the target COMMIT returned.
        s.confirm(cursor.confirmable);
        report('streaming');
      });
      inCommit = done;
      // Wakes the loop if it waits on a quiet stream: it takes the outcome and may stop or commit again.
      void done
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => {
          if (inCommit !== done) return;
          committed = true;
          s.interrupt();
        });
    };
    const settleCommit = async () => {
      const c = inCommit;
      inCommit = undefined;
      committed = false;
      await c;
    };
    /** Commit what is batched and wait until it is durable. */
    const commitBatch = async () => {
      await startCommit();
      await settleCommit();
    };
    report('streaming');

    /*
     * The apply loop. Invariants it keeps:
     * 1. Exactly once: the target holds the changes of exactly the source transactions whose commit end
     *    LSN <= the stored apply position, because that position is written in the same target transaction
     *    as the changes it covers (Applier.commit). On (re)start streaming resumes from the stored position,
     *    and a transaction whose commit LSN is at or below it is skipped (cursor.begin).
     * 2. Commit order: changes are applied in the order the walsender sends them, which is commit order;
     *    a transaction's BEGIN position never orders or skips anything.
     * 3. A target transaction commits only at a source commit boundary (a large source transaction is
     *    applied as it arrives, and the target transaction may span it and the ones around it).
     * 4. The slot is told only cursor.confirmable: the applied position after the target COMMIT, or an idle
     *    source's position under the heartbeat rule (cursor.ts). Nothing received but not committed.
     * 5. No sleeping: the loop blocks only on the stream (woken by data, a keepalive, abort or a ping wait).
     */
    for (;;) {
      let item = s.poll();
      if (deps.signal?.aborted) {
        // Stopping: finish the open source transaction only from what is already buffered, so the
        // completed ones in the batch are kept; otherwise the batch is rolled back below.
        if (!cursor.inTransaction || !item) break;
      }
      if (!item) {
        // Nothing buffered: the stream is quiet for now, a good moment to make the batch durable. It
        // commits in the background: what arrives meanwhile goes into the next batch, and a quiet stream
        // is woken when the COMMIT returns. One commit at a time: the next starts once this one returned.
        if (committed) await settleCommit();
        if (cursor.pending && !cursor.inTransaction && !inCommit) await startCommit();
        if (cursor.done) break;
        const idle = !cursor.inTransaction && !cursor.pending;
        const pingMs = deps.stopAt !== undefined ? PING_MS : IDLE_PING_MS;
        if (idle && Date.now() - lastPing >= pingMs) {
          s.ping();
          lastPing = Date.now();
        }
        item = await s.next(deps.signal, pingMs);
        if (!item) continue;
      }
      if (item.kind === 'keepalive') {
        if (cursor.pending && !cursor.inTransaction) await commitBatch();
        cursor.keepalive(item.walEnd);
        s.confirm(cursor.confirmable);
        streamed = maxLsn(streamed, item.walEnd);
        report('streaming');
        if (cursor.done) break;
        continue;
      }
      const change = item;
      switch (change.kind) {
        case 'begin': {
          const decision = cursor.begin(change.finalLsn);
          if (decision === 'stop') break;
          if (batchTransactions === 0) batchStarted = Date.now();
          openFinal = change.finalLsn;
          changesAtBegin = a.changes;
          continue;
        }
        case 'relation':
          try {
            await a.relation(change.relation);
          } catch (e) {
            throw await schemaStop(e);
          }
          continue;
        case 'commit': {
          if (cursor.commit(change.lsn)) {
            batchTransactions++;
            receivedCommitTimeUs = change.commitTimeUs ?? receivedCommitTimeUs;
          }
          const full =
            batchTransactions >= BATCH_TRANSACTIONS ||
            a.changes >= BATCH_CHANGES ||
            Date.now() - batchStarted >= BATCH_MS;
          // Committed in the background: the loop decodes the next batch meanwhile.
          if (cursor.pending && full) await startCommit();
          if (cursor.done) break;
          continue;
        }
        default:
          if (cursor.applying) {
            const sent = a.apply(change);
            if (sent) await sent;
            totals.changes++;
          }
          continue;
      }
      break;
    }

    // Leaving: keep what is complete, drop a partly received transaction (it is sent again next time).
    await settleCommit();
    if (cursor.inTransaction) {
      await a.rollback();
      cursor.rolledBack();
    }
    if (cursor.pending) await commitBatch();
    report(cursor.done ? 'done' : 'streaming');
    await s.close();
    return { appliedLsn: cursor.applied, stoppedBy: cursor.done ? 'stopAt' : 'signal' };
  } catch (e) {
    await applier?.rollback().catch(() => undefined);
    throw e;
  } finally {
    await stream?.close().catch(() => undefined);
    await target.close();
  }
}

/** Internal: stop again before the transaction committing at `before`, then throw `error`. */
class StopBefore extends Error {
  constructor(
    readonly before: Lsn,
    readonly error: DtsError,
  ) {
    super(error.message);
  }
}

/**
 * The target's disk (or the tablespace of a table) is full: SQLSTATE 53100, as the applier's refusal or as
 * a plain server error (at COMMIT). Sync retries it with backoff like a lost connection: once space is
 * freed, apply goes on from the stored position; status shows the error meanwhile.
 */
export function diskFull(e: unknown): boolean {
  return serverErrorIn(e)?.code === '53100';
}

/** What status shows while sync retries after `e`. */
export function retryMessage(e: unknown): string {
  const server = serverErrorIn(e);
  if (server?.code === '53100')
    return `target disk full: ${server.message} (SQLSTATE 53100); free space on the target (or move the table to another tablespace): sync retries and goes on`;
  return e instanceof Error ? e.message : String(e);
}

/** Failures a reconnect can cure: the connection, a restart, a slot still held by our previous session. */
export function transient(e: unknown): boolean {
  if (diskFull(e)) return true;
  if (isDtsError(e)) {
    if (['connection-refused', 'connection-timeout', 'too-many-connections'].includes(e.code)) return true;
    return e.code === 'server-error' && transient(e.cause);
  }
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  if (isPgServerError(e))
    return (
      code.startsWith('08') || ['57P01', '57P02', '57P03', '55006', '53300', '40001', '40P01'].includes(code)
    );
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code))
    return true;
  return (
    typeof err?.message === 'string' &&
    /Connection terminated|ended replication|not queryable|connection.*closed/i.test(err.message)
  );
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** For callers that need a plain message about an unknown failure domain. */
export function syncError(e: unknown): DtsError {
  if (isDtsError(e)) return e;
  return new DtsError(
    'sync-failed',
    `incremental sync failed: ${e instanceof Error ? e.message : String(e)}`,
    {
      exitCode: ExitCode.internal,
      cause: e,
    },
  );
}
