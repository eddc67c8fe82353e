import { readCheckpoint } from '../apply/checkpoint.js';
import { refreshMaterializedViews, stopError, type StopReason } from '../copy/full-load.js';
import { readMaterializedViews } from '../copy/read.js';
import { copySequences } from '../copy/sequences.js';
import { connect, withConnection } from '../pg/connect.js';
import { isDtsError } from '../errors.js';
import { serverErrorIn, sqlError } from '../pg/errors.js';
import { formatLsn, parseLsn } from '../pg/lsn.js';
import type { PasswordPrompt } from '../pg/password.js';
import { syncDatabase, type SyncProgress, type SyncResult } from '../replication/index.js';
import { releaseSource } from '../state/cancel.js';
import { unwatchTask, watchTask, type TargetWrite } from '../state/target-writes.js';
import { ensureHolds, readHold } from '../state/hold.js';
import { StateSession } from '../state/session.js';
import { serveHold } from './hold.js';
import {
  ensureState,
  readAppliedTransactions,
  readCutoverRequest,
  readTaskState,
  recordCompleted,
  recordCutoverDatabase,
  recordDropped,
  recordTaskPhase,
  type Queryable,
  clearLastError,
  recordLastError,
  type CutoverRequest,
  type LoadRecord,
} from '../state/store.js';
import type { Task } from '../task/types.js';
import { SyncProgressWriter } from './progress.js';

/** What the runner needs to sync a task and cut it over. */
export interface SyncRunDeps {
  readonly prompt?: PasswordPrompt;
  /** The run's stop (Ctrl-C, `dts cancel`): sync stops cleanly and the run ends with a stopError. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SyncProgress) => void;
  readonly onStep?: (text: string) => void;
  /** How often `_dts` is asked for a cutover request (default 1 s). */
  readonly pollMs?: number;
}

/** One database at the cutover. */
export interface CutoverDatabaseReport {
  readonly source: string;
  readonly target: string;
  readonly appliedLsn: string;
  /** Transactions incremental sync applied into it, over all runs. */
  readonly transactions: number;
  readonly sequences: number;
  readonly refreshed: readonly string[];
}

/** What `dts run` of a full+incremental task ends with, and `dts complete` reports. */
export interface CutoverReport {
  readonly task: string;
  readonly ok: true;
  readonly phase: 'completed';
  /** The source's WAL insert position when `dts complete` asked: every commit before it is applied. */
  readonly endLsn: string;
  readonly transactions: number;
  readonly requestedAt: string;
  readonly completedAt: string;
  /** From the request to the end of the cutover. */
  readonly durationMs: number;
  readonly databases: readonly CutoverDatabaseReport[];
  readonly droppedSlots: readonly string[];
  readonly droppedPublications: readonly string[];
  /** Writes to the target that dts did not make, recorded while the task synced (should be none). */
  readonly targetWrites: readonly TargetWrite[];
}

const prompt = (deps: { readonly prompt?: PasswordPrompt }) => (deps.prompt ? { prompt: deps.prompt } : {});
const reasonOf = (signal: AbortSignal | undefined): StopReason =>
  signal?.reason === 'cancelled' ? 'cancelled' : 'interrupted';

/**
 * Incremental sync of every database of the task at once, from each load's consistent point (or the
 * stored apply position, whichever is later), until `dts complete` records a cutover request or the run
 * is stopped. Then the cutover: a final drain of each database up to the requested end position, the
 * sequences set from the source, materialized views refreshed, the slots and publications dropped, and
 * the task recorded `completed`.
 *
 * Stopping (deps.signal) leaves the phase `syncing`: a later `dts run` resumes sync from the stored
 * positions, and a cutover request already recorded is carried out by that run.
 */
export async function syncUntilCutover(
  task: Task,
  loads: readonly LoadRecord[],
  deps: SyncRunDeps = {},
): Promise<CutoverReport> {
  // Status' figures, in _dts: written by the runner every second or so while it syncs. The cutover and
  // hold polls share the session: one query at a time. A lost connection is opened again at the next
  // query (a target restart or a cut network must not leave the runner deaf to `dts complete`).
  const db = new StateSession(
    () => connect(task.target, { side: 'target', ...prompt(deps) }),
    await connect(task.target, { side: 'target', ...prompt(deps) }),
  );
  const figures = new SyncProgressWriter(db, task.name);
  let streaming = new AbortController();
  const stop = () => streaming.abort('stop');
  // A `dts verify` hold asked for (its token), served once the streams have stopped (see state/hold.ts).
  let held: string | undefined;
  deps.signal?.addEventListener('abort', stop, { once: true });
  let request: CutoverRequest | undefined;
  let polling = false;
  const poll = setInterval(() => {
    if (polling || streaming.signal.aborted) return;
    polling = true;
    readCutoverRequest(db, task.name)
      .then((r) => {
        if (r && !request) {
          request = r;
          deps.onStep?.(`dts complete asked for the cutover at ${r.lsn}; applying the last changes`);
          streaming.abort('cutover');
        }
        if (request) return;
        return readHold(db, task.name).then((h) => {
          if (h?.live && h.state === 'pause' && !streaming.signal.aborted) {
            held = h.token;
            streaming.abort('hold');
          }
        });
      })
      // A failed poll is retried at the next tick; sync itself reports a lost target.
      .catch(() => undefined)
      .finally(() => (polling = false));
  }, deps.pollMs ?? 1000);
  try {
    const drainedEarlier = await sqlStep('reading the task state in _dts.tasks', async () => {
      await ensureState(db);
      await ensureHolds(db);
      request = await readCutoverRequest(db, task.name);
      // Phase `cutover`: an earlier runner drained every database to the request and died after.
      return (await readTaskState(db, task.name))?.phase === 'cutover' && !!request;
    });
    // From here until the cutover only dts may write the target: writes by others are recorded. The
    // watch is in place before the sync figures appear (the copy has recorded phase syncing already).
    if (!drainedEarlier) await watchTask(task, loads, db, prompt(deps));
    await sqlStep('recording phase syncing in _dts.tasks', async () => {
      if (!drainedEarlier) await recordTaskPhase(db, task.name, 'syncing');
      await figures.start();
    });
    // A last error recorded by an earlier runner stands until sync streams again.
    let cleared = false;
    const onProgress = (p: SyncProgress) => {
      if (p.state === 'streaming' && !cleared) {
        cleared = true;
        clearLastError(db, task.name).catch(() => (cleared = false));
      }
      figures.onProgress(p);
      deps.onProgress?.(p);
    };
    const each = (stopAt: CutoverRequest | undefined, signal: AbortSignal | undefined) => {
      figures.nextCall();
      return settleAll(
        loads.map((l) =>
          syncDatabase(task, l.sourceDatabase, {
            fromLsn: parseLsn(l.consistentPoint),
            targetDatabase: l.targetDatabase,
            ...(stopAt ? { stopAt: parseLsn(stopAt.lsn) } : {}),
            ...(signal ? { signal } : {}),
            onProgress,
            ...prompt(deps),
          }),
        ),
        () => streaming.abort('failed'),
      );
    };
    if (!request) {
      deps.onStep?.(`syncing ${loads.length} database(s); \`dts complete ${task.file}\` cuts over`);
      await each(undefined, streaming.signal);
      // Stopped for a verify hold: serve it, then stream again (unless a cutover or a stop came meanwhile).
      while (held !== undefined && !request && !deps.signal?.aborted) {
        const token = held;
        held = undefined;
        await serveHold(task, loads, db, token, deps);
        request = await sqlStep('reading the cutover request', () => readCutoverRequest(db, task.name));
        if (request || deps.signal?.aborted) break;
        streaming = new AbortController();
        await each(undefined, streaming.signal);
      }
    }
    clearInterval(poll);
    if (deps.signal?.aborted || !request) throw stopError(task, reasonOf(deps.signal));
    // The drain: every transaction whose commit starts before the end position. It ends on an idle
    // source too: syncDatabase asks the walsender for its position while waiting for stopAt.
    if (!drainedEarlier) {
      await each(request, deps.signal);
      if (deps.signal?.aborted) throw stopError(task, reasonOf(deps.signal));
      // From here on the slots are not needed again: what follows is idempotent and may be redone.
      await sqlStep('recording phase cutover in _dts.tasks', () => recordTaskPhase(db, task.name, 'cutover'));
      await figures.stop();
      await testPause('DTS_TEST_CUTOVER_DELAY_MS');
    } else {
      deps.onStep?.('the last changes were applied by an earlier run; finishing the cutover');
      await figures.stop();
    }
    return await cutOver(task, loads, request, db, deps);
  } catch (e) {
    // For `dts status` after this runner is gone (a stop asked for is not an error).
    if (!(isDtsError(e) && ['interrupted', 'cancelled'].includes(e.code)))
      await recordLastError(db, task.name, describeStop(e)).catch(() => undefined);
    throw e;
  } finally {
    clearInterval(poll);
    await figures.stop().catch(() => undefined);
    deps.signal?.removeEventListener('abort', stop);
    await db.close();
  }
}

/** The error that stops a runner, as status shows it: the message, its SQLSTATE apart, the hint. */
export function describeStop(e: unknown): {
  message: string;
  sqlstate: string | undefined;
  hint: string | undefined;
} {
  const sqlstate = serverErrorIn(e)?.code;
  const message = (e instanceof Error ? e.message : String(e)).replace(/ \(SQLSTATE [0-9A-Z]{5}\)$/, '');
  return { message, sqlstate, hint: isDtsError(e) ? e.hint : undefined };
}

/** Run all; when one fails, stop the others (via `onFailure`) and rethrow the first failure. */
async function settleAll(
  runs: readonly Promise<SyncResult>[],
  onFailure: () => void,
): Promise<readonly SyncResult[]> {
  const settled = await Promise.allSettled(
    runs.map((p) =>
      p.catch((e: unknown) => {
        onFailure();
        throw e;
      }),
    ),
  );
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<SyncResult>).value);
}

/** Test-only: hold still at a point a test kills the runner at (the env variable gives milliseconds). */
async function testPause(knob: string): Promise<void> {
  const ms = Number(process.env[knob] ?? 0) || 0;
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

async function sqlStep<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw sqlError(e, 'target', doing);
  }
}

/** After the drain: sequences, materialized views, the source released, `completed` recorded. */
async function cutOver(
  task: Task,
  loads: readonly LoadRecord[],
  request: CutoverRequest,
  state: Queryable,
  deps: SyncRunDeps,
): Promise<CutoverReport> {
  const databases: CutoverDatabaseReport[] = [];
  const targets = loads.map((l) => l.targetDatabase);
  // After the drain the target is the user's again: the write watch goes, its records stay.
  const targetWrites = await unwatchTask(task, targets, prompt(deps));
  for (const l of loads) {
    const src = { side: 'source' as const, database: l.sourceDatabase, ...prompt(deps) };
    const dst = { side: 'target' as const, database: l.targetDatabase, ...prompt(deps) };
    deps.onStep?.(`setting the sequences of ${l.targetDatabase} from the source`);
    // Read after the drain, so each value is at least what the source had at the end position.
    const { sequences, matviews } = await withConnection(task.source, src, (s) =>
      withConnection(task.target, dst, async (t) => ({
        sequences: await sqlStep('setting sequences', () =>
          copySequences(s.client, t.client, request.sequenceGap ?? 0),
        ),
        matviews: await readMaterializedViews(s.client),
      })),
    );
    const refreshed = await refreshMaterializedViews(task, l.targetDatabase, matviews, deps);
    const { transactions, applied } = await withConnection(task.target, dst, (t) =>
      sqlStep('reading _dts.apply_position', async () => ({
        transactions: await readAppliedTransactions(t.client, task.name, l.sourceDatabase),
        applied: await readCheckpoint(t.client, {
          task: task.name,
          database: l.sourceDatabase,
          slot: l.slot,
        }),
      })),
    );
    const done: CutoverDatabaseReport = {
      source: l.sourceDatabase,
      target: l.targetDatabase,
      appliedLsn: formatLsn(applied ?? parseLsn(l.consistentPoint)),
      transactions,
      sequences,
      refreshed,
    };
    // For `dts complete`, which reports it from another process.
    await sqlStep('recording the cutover in _dts.cutover_databases', () =>
      recordCutoverDatabase(state, task.name, done),
    );
    databases.push(done);
  }
  deps.onStep?.('dropping the replication slots and publications on the source');
  const released = await releaseSource(
    task,
    loads.map((l) => l.sourceDatabase),
    deps,
  );
  await sqlStep('recording the cutover in _dts.tasks', () => recordDropped(state, task.name, released));
  await testPause('DTS_TEST_RELEASED_DELAY_MS');
  const transactions = databases.reduce((n, d) => n + d.transactions, 0);
  await sqlStep('recording phase completed in _dts.tasks', () =>
    recordCompleted(state, task.name, transactions),
  );
  const completedAt = new Date();
  return {
    task: task.name,
    ok: true,
    phase: 'completed',
    endLsn: request.lsn,
    transactions,
    requestedAt: request.requestedAt.toISOString(),
    completedAt: completedAt.toISOString(),
    durationMs: Math.max(0, completedAt.getTime() - request.requestedAt.getTime()),
    databases,
    droppedSlots: released.slots,
    droppedPublications: released.publications,
    targetWrites,
  };
}
