import { hostname } from 'node:os';
import { DtsError, ExitCode } from '../errors.js';
import { connectInstance, type Connection } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import * as sql from './sql.js';
import { readTaskState, recordRunner, type Queryable, type RunnerInfo, type TaskState } from './store.js';

/** A server process holding one of a task's lock keys. */
export interface LockHolder {
  readonly backendPid: number;
  readonly database: string | undefined;
}

/** Who holds the task's runner lock (at most one, unless two runners raced; see acquireRunnerLock). */
export async function runnerLockHolders(db: Queryable, task: string): Promise<readonly LockHolder[]> {
  const { rows } = await db.query(sql.LOCK_HOLDERS, [sql.LOCK_SPACE, sql.runnerLockName(task)]);
  return (rows as { pid: number; database: string | null }[]).map((r) => ({
    backendPid: Number(r.pid),
    database: r.database ?? undefined,
  }));
}

/** Is `dts cancel` asking the runner of `task` to stop? */
export async function cancelRequested(db: Queryable, task: string): Promise<boolean> {
  const { rows } = await db.query(sql.LOCK_HOLDERS, [sql.LOCK_SPACE, sql.cancelLockName(task)]);
  return rows.length > 0;
}

/** Take a lock key without waiting; false when someone else holds it. */
export async function tryLock(db: Queryable, name: string): Promise<boolean> {
  const { rows } = await db.query(sql.TRY_LOCK, [sql.LOCK_SPACE, name]);
  return (rows[0] as { locked: boolean }).locked === true;
}

export async function unlock(db: Queryable, name: string): Promise<void> {
  await db.query(sql.UNLOCK, [sql.LOCK_SPACE, name]);
}

const stateIn = async (c: Connection & { missingDatabase: string | undefined }, task: string) =>
  c.missingDatabase === undefined ? readTaskState(c.client, task) : undefined;

/** The message for a second runner, naming the first when its record is the lock holder's. */
export function alreadyRunning(
  task: string,
  holder: LockHolder | undefined,
  state: TaskState | undefined,
): DtsError {
  const r = state?.runner;
  const who =
    r && holder && r.backendPid === holder.backendPid
      ? `pid ${r.pid} on host ${r.host} since ${r.startedAt.toISOString()}`
      : `its runner holds the lock on the target${holder ? `: server process ${holder.backendPid}` : ''}`;
  return new DtsError('already-running', `task ${task} is already running (${who})`, {
    hint: `only one dts run per task at a time; \`dts status\` shows its progress, \`dts cancel\` stops it`,
    exitCode: ExitCode.state,
  });
}

/** The runner lock, held until `release()`; `state` is what `_dts` said when it was taken. */
export interface RunnerLock {
  readonly info: RunnerInfo;
  /** The task's recorded state, or undefined when it never ran on this target. */
  readonly state: TaskState | undefined;
  /** One cheap query on the lock's connection: has `dts cancel` asked this runner to stop? */
  cancelRequested(): Promise<boolean>;
  /**
   * After the lock's connection was lost (cancelRequested() failed): reconnect with backoff and take the
   * lock again. `retaken` when it is ours again; `taken` (with the message) when another runner holds it;
   * `gave-up` when the target stayed unreachable for `giveUpAfterMs` or `signal` aborted.
   */
  retake(opts?: RetakeOptions): Promise<RetakeOutcome>;
  /** Times the lock was taken again after its connection was lost. */
  readonly retakes: number;
  release(): Promise<void>;
}

export interface RetakeOptions {
  readonly signal?: AbortSignal;
  /** Give up when reconnecting has failed for this long (default 10 minutes, as sync). */
  readonly giveUpAfterMs?: number;
  /** Each failed attempt (for a note). */
  readonly onAttempt?: (error: unknown, nextInMs: number) => void;
}

export type RetakeOutcome =
  | { readonly outcome: 'retaken' }
  | { readonly outcome: 'taken'; readonly error: DtsError }
  | { readonly outcome: 'gave-up'; readonly error: unknown };

/**
 * Take the task's runner lock on the target, or throw `already-running` (exit 5).
 *
 * The lock is taken in the target endpoint's database, or in a maintenance database while that one does
 * not exist yet. Advisory locks only conflict within one database, so after taking it we also look for a
 * holder of the same key in any other database: two runners that raced across databases both give up,
 * which is safe, rather than both proceeding.
 */
export async function acquireRunnerLock(
  task: Task,
  deps: { readonly prompt?: PasswordPrompt } = {},
): Promise<RunnerLock> {
  const open = () =>
    connectInstance(task.target, {
      side: 'target',
      ...(deps.prompt ? { prompt: deps.prompt } : {}),
    });
  let c = await open();
  const name = sql.runnerLockName(task.name);
  try {
    const { backendPid, state } = await (async () => {
      try {
        const locked = await tryLock(c.client, name);
        const backend = (await c.client.query('SELECT pg_catalog.pg_backend_pid() AS pid')).rows[0] as {
          pid: number;
        };
        const others = (await runnerLockHolders(c.client, task.name)).filter(
          (h) => h.backendPid !== backend.pid,
        );
        if (!locked || others.length > 0) {
          if (locked) await unlock(c.client, name);
          throw alreadyRunning(task.name, others[0], await stateIn(c, task.name));
        }
        return { backendPid: backend.pid, state: await stateIn(c, task.name) };
      } catch (e) {
        if (e instanceof DtsError) throw e;
        throw sqlError(e, 'target', 'taking the runner lock');
      }
    })();
    const info: RunnerInfo = { pid: process.pid, host: hostname(), startedAt: new Date(), backendPid };
    // A done or cancelled task is left untouched (`run` says so and stops; --restart records it later).
    if (state && !['done', 'completed', 'cancelled'].includes(state.phase))
      await recordRunner(c.client, task.name, info).catch((e: unknown) => {
        throw sqlError(e, 'target', 'recording the runner in _dts.tasks');
      });
    let retakes = 0;
    const retake = async (opts: RetakeOptions = {}): Promise<RetakeOutcome> => {
      await c.close().catch(() => undefined);
      const since = Date.now();
      let backoff = 250;
      for (;;) {
        try {
          const next = await open();
          try {
            const taken = await takeAgain(next.client, task.name, info);
            if (taken) {
              await next.close();
              return { outcome: 'taken', error: taken };
            }
            c = next;
            retakes++;
            return { outcome: 'retaken' };
          } catch (e) {
            await next.close();
            throw e;
          }
        } catch (e) {
          if (Date.now() - since > (opts.giveUpAfterMs ?? 600_000) || opts.signal?.aborted)
            return { outcome: 'gave-up', error: e };
          opts.onAttempt?.(e, backoff);
          await new Promise((r) => setTimeout(r, backoff));
          if (opts.signal?.aborted) return { outcome: 'gave-up', error: e };
          backoff = Math.min(backoff * 2, 5_000);
        }
      }
    };
    return {
      info,
      state,
      cancelRequested: () => cancelRequested(c.client, task.name),
      retake,
      get retakes() {
        return retakes;
      },
      release: async () => {
        await unlock(c.client, name).catch(() => undefined);
        await c.close();
      },
    };
  } catch (e) {
    await c.close();
    throw e;
  }
}

/**
 * Take the runner lock again on a new session, for a runner whose lock session was lost. Undefined when
 * it is ours again (the runner record then names the new server process); the `already-running` error
 * when another runner holds it now. Other failures (the target still unreachable) are thrown.
 */
async function takeAgain(db: Queryable, task: string, info: RunnerInfo): Promise<DtsError | undefined> {
  const name = sql.runnerLockName(task);
  const locked = await tryLock(db, name);
  const backend = (await db.query('SELECT pg_catalog.pg_backend_pid() AS pid')).rows[0] as { pid: number };
  const others = (await runnerLockHolders(db, task)).filter((h) => h.backendPid !== backend.pid);
  if (!locked || others.length > 0) {
    if (locked) await unlock(db, name);
    return alreadyRunning(task, others[0], await readTaskState(db, task).catch(() => undefined));
  }
  // The record names the runner by the server process holding the lock: now this one.
  const state = await readTaskState(db, task);
  if (state && !['done', 'completed', 'cancelled'].includes(state.phase))
    await recordRunner(db, task, { ...info, backendPid: backend.pid });
  return undefined;
}
