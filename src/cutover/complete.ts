import { setTimeout as sleep } from 'node:timers/promises';
import { DtsError, ExitCode } from '../errors.js';
import { connectInstance } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import { worstLagSeconds } from '../state/lag.js';
import { runnerLockHolders } from '../state/lock.js';
import { readSourceLive, syncStatusOf } from '../state/status.js';
import {
  readCutoverOutcome,
  readSyncProgress,
  readTaskState,
  recordCutoverRequest,
  type Queryable,
  type TaskState,
} from '../state/store.js';
import type { Task } from '../task/types.js';
import { readTaskTargetWrites } from '../state/target-writes.js';
import type { CutoverReport } from './sync.js';

export interface CompleteDeps {
  readonly prompt?: PasswordPrompt;
  /** How long to wait for the runner to finish the cutover (default 10 minutes). */
  readonly timeoutMs?: number;
  readonly onStep?: (text: string) => void;
  /**
   * The position to cut over at, once the task is known to be completable (`complete --verify` verifies
   * with the runner held and returns the held position); by default the source's WAL insert position.
   */
  readonly endLsn?: () => Promise<string | undefined>;
  /** Called once the cutover request is recorded (`complete --verify` releases its hold then). */
  readonly onRequested?: () => Promise<void>;
  /**
   * `--wait-for-lag`: before asking for the cutover, wait until every database's lag is at most this many
   * seconds (for at most `lagTimeoutMs`, default 10 minutes).
   */
  readonly waitForLagSeconds?: number;
  readonly lagTimeoutMs?: number;
  /** Each second while waiting for the lag: each database's lag and the time left. */
  readonly onLag?: (wait: LagWait) => void;
  /** `--sequence-gap`: set each target sequence this many increments past the source's value. */
  readonly sequenceGap?: number;
}

/** One look at the lag while `complete --wait-for-lag` waits. */
export interface LagWait {
  readonly databases: readonly {
    readonly database: string;
    readonly lagSeconds: number | undefined;
    readonly lagBytes: number | undefined;
  }[];
  /** The largest lag in seconds (undefined while one is unknown). */
  readonly worst: number | undefined;
  readonly wantSeconds: number;
  readonly leftMs: number;
}

const prompt = (deps: CompleteDeps) => (deps.prompt ? { prompt: deps.prompt } : {});

/** `dts complete` of a task that has no runner syncing it: exit 5. */
export function notSyncing(task: Task, why: string): DtsError {
  return new DtsError('not-syncing', `task ${task.name} is not syncing (${why}); nothing to complete`, {
    hint: `dts complete needs \`dts run ${task.file}\` running in phase syncing (mode: full+incremental); \`dts status ${task.file}\` shows where the task is`,
    exitCode: ExitCode.state,
  });
}

/** Why `state` (with `alive` runners) cannot be completed, or undefined when it can. */
export function refusal(state: TaskState | undefined, alive: boolean): string | undefined {
  if (!state) return 'it has not run on this target';
  if (state.phase === 'completed') return 'it is already completed';
  if (state.mode !== 'full+incremental') return `mode ${state.mode} has no incremental sync`;
  // `cutover`: a runner is finishing a cutover already asked for; waiting for it is what complete does.
  if (state.phase !== 'syncing' && state.phase !== 'cutover')
    return `phase ${state.phase}${alive ? '' : ', no runner'}`;
  if (!alive) return 'its runner is not running; `dts run` resumes sync';
  return undefined;
}

/**
 * `dts complete` as a library call: with a live runner in phase syncing, record a cutover request at the
 * source's current WAL insert position, then wait for the runner to drain up to it, set the sequences,
 * release the source and record `completed`. Returns what the runner recorded. Throws `not-syncing`
 * (exit 5) when there is nothing to complete, `complete-timeout` when the runner takes too long (it goes
 * on), and `complete-failed` when the runner stopped before completing (a new `dts run` carries the
 * request out).
 */
export async function complete(task: Task, deps: CompleteDeps = {}): Promise<CutoverReport> {
  const timeoutMs = deps.timeoutMs ?? 600_000;
  const c = await connectInstance(task.target, { side: 'target', ...prompt(deps) });
  try {
    const read = async () => ({
      state: c.missingDatabase === undefined ? await readTaskState(c.client, task.name) : undefined,
      holders: await runnerLockHolders(c.client, task.name),
    });
    const fail = (e: unknown): never => {
      throw sqlError(e, 'target', 'reading the _dts state');
    };
    const before = await read().catch(fail);
    const why = refusal(before.state, before.holders.length > 0);
    if (why) throw notSyncing(task, why);
    if (deps.waitForLagSeconds !== undefined && before.state?.phase === 'syncing')
      await waitForLag(task, c.client, deps.waitForLagSeconds, deps);

    let endLsn: string | undefined = await deps.endLsn?.();
    if (endLsn === undefined) {
      // A standby source: the primary's position, so the cutover covers every commit made there.
      const source = await connectInstance(task.sourcePrimary ?? task.source, {
        side: 'source',
        ...prompt(deps),
      });
      try {
        const { rows } = await source.client
          .query(
            `SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                    ELSE pg_catalog.pg_current_wal_insert_lsn() END::text AS lsn`,
          )
          .catch((e: unknown) => {
            throw sqlError(e, 'source', 'reading the WAL insert position');
          });
        endLsn = String((rows[0] as { lsn: string }).lsn);
      } finally {
        await source.close();
      }
    }
    const request = await recordCutoverRequest(c.client, task.name, endLsn, deps.sequenceGap ?? 0).catch(
      (e: unknown) => {
        throw sqlError(e, 'target', 'recording the cutover request in _dts.tasks');
      },
    );
    await deps.onRequested?.();
    const gap = request.sequenceGap ? `, sequences ${request.sequenceGap} increments ahead` : '';
    deps.onStep?.(
      `cutover requested at ${request.lsn}${gap}; waiting for the runner to apply the last changes`,
    );

    const deadline = Date.now() + timeoutMs;
    // Invariant: the runner holds its lock until it has recorded how the cutover ended.
    while ((await runnerLockHolders(c.client, task.name).catch(fail)).length > 0) {
      if (Date.now() > deadline)
        throw new DtsError(
          'complete-timeout',
          `the runner of task ${task.name} did not finish the cutover within ${Math.round(timeoutMs / 1000)} s`,
          {
            hint: `it goes on; \`dts complete ${task.file}\` again waits for it, \`dts status ${task.file}\` shows it`,
            exitCode: ExitCode.state,
          },
        );
      await sleep(250);
    }
    const after = (await read().catch(fail)).state;
    if (after?.phase !== 'completed')
      throw new DtsError(
        'complete-failed',
        `the runner of task ${task.name} stopped before completing (phase ${after?.phase ?? 'unknown'})`,
        {
          hint: `the cutover request is kept: \`dts run ${task.file}\` resumes sync and completes`,
          exitCode: ExitCode.state,
        },
      );
    const requestedAt = after.cutover?.requestedAt ?? request.requestedAt;
    const completedAt = after.completedAt ?? new Date();
    // The runner recorded each database's part; this process saw none of it.
    const outcome = await readCutoverOutcome(c.client, task.name).catch((e: unknown) => {
      throw sqlError(e, 'target', 'reading the cutover outcome in _dts');
    });
    return {
      task: task.name,
      ok: true,
      phase: 'completed',
      endLsn: after.cutover?.lsn ?? request.lsn,
      transactions: after.syncTransactions ?? 0,
      requestedAt: requestedAt.toISOString(),
      completedAt: completedAt.toISOString(),
      durationMs: Math.max(0, completedAt.getTime() - requestedAt.getTime()),
      databases: outcome.databases,
      droppedSlots: outcome.droppedSlots,
      droppedPublications: outcome.droppedPublications,
      targetWrites: await readTaskTargetWrites(
        task,
        after.loads.map((l) => l.targetDatabase),
        deps,
      ),
    };
  } finally {
    await c.close();
  }
}

/**
 * `--wait-for-lag`: poll the runner's figures and the source until every database's lag is at most
 * `seconds`. Throws `lag-timeout` (exit 5) when it does not get there in time (nothing was requested, the
 * runner goes on syncing) and `not-syncing` when the runner stops meanwhile.
 */
async function waitForLag(task: Task, db: Queryable, seconds: number, deps: CompleteDeps): Promise<void> {
  const timeoutMs = deps.lagTimeoutMs ?? 600_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fail = (e: unknown): never => {
      throw sqlError(e, 'target', 'reading the _dts state');
    };
    const read = async () => ({
      state: await readTaskState(db, task.name),
      holders: await runnerLockHolders(db, task.name),
      records: await readSyncProgress(db, task.name),
    });
    const { state, holders, records } = await read().catch(fail);
    const why = refusal(state, holders.length > 0);
    if (why) throw notSyncing(task, why);
    // An unreachable source leaves the lag in seconds to the runner's own figures.
    const live = await readSourceLive(task, deps).catch(() => undefined);
    const now = new Date();
    const lags = (state?.loads ?? []).map((l) => {
      const r = records.find((x) => x.database === l.sourceDatabase);
      const x = r
        ? syncStatusOf(r, live, { slot: l.slot, snapshotAt: l.snapshotAt, runnerAlive: true, now })
        : undefined;
      return { database: l.sourceDatabase, lagSeconds: x?.lagSeconds, lagBytes: x?.lagBytes };
    });
    const worst = lags.length > 0 ? worstLagSeconds(lags.map((l) => ({ seconds: l.lagSeconds }))) : undefined;
    const leftMs = Math.max(0, deadline - Date.now());
    deps.onLag?.({
      databases: lags,
      worst,
      wantSeconds: seconds,
      leftMs,
    });
    if (worst !== undefined && worst <= seconds) return;
    if (leftMs <= 0)
      throw new DtsError(
        'lag-timeout',
        `the lag of task ${task.name} did not come down to ${seconds} s within ${Math.round(timeoutMs / 1000)} s (last: ${worst === undefined ? 'unknown' : `${worst.toFixed(1)} s`}); no cutover was requested`,
        {
          hint: `sync goes on; \`dts status ${task.file}\` shows the lag, \`dts complete ${task.file}\` cuts over without waiting`,
          exitCode: ExitCode.state,
        },
      );
    await sleep(Math.min(1000, leftMs));
  }
}
