import { connect, type Connection } from '../pg/connect.js';
import { isPgServerError, sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import { importSnapshot } from './snapshot.js';

/** One COPY worker: a source connection inside the snapshot and a target connection to load into. */
export interface Worker {
  readonly index: number;
  readonly source: Connection;
  readonly target: Connection;
}

export interface WorkerOptions {
  readonly sourceDatabase: string;
  readonly targetDatabase: string;
  readonly snapshotName: string;
  readonly prompt?: PasswordPrompt;
}

/**
 * Open `count` workers, each importing the exported snapshot. They are opened all at once, before any
 * copying: the exporting connection must stay idle until the last one has imported it.
 *
 * Source sessions turn row_security off so a policy can never silently hide rows (PostgreSQL then raises
 * an error instead, as for pg_dump). Target sessions use session_replication_role = replica when the role
 * may set it, so no trigger or rule fires on loaded rows; post-data creates those afterwards anyway.
 */
export async function openWorkers(
  task: Task,
  count: number,
  opts: WorkerOptions,
): Promise<{ readonly workers: readonly Worker[]; readonly replicaRole: boolean }> {
  const prompt = opts.prompt ? { prompt: opts.prompt } : {};
  const opened: Connection[] = [];
  try {
    const workers: Worker[] = [];
    let replicaRole = true;
    // Sessions that did set replica: only those go back to origin. Setting the parameter at all, even to
    // its default, is refused to a role without the privilege.
    const replica: Worker[] = [];
    for (let index = 0; index < count; index++) {
      const source = await connect(task.source, { side: 'source', database: opts.sourceDatabase, ...prompt });
      opened.push(source);
      const target = await connect(task.target, { side: 'target', database: opts.targetDatabase, ...prompt });
      opened.push(target);
      try {
        await source.client.query(
          `SET row_security = off; SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0`,
        );
        await importSnapshot(source.client, opts.snapshotName);
      } catch (e) {
        throw sqlError(
          e,
          'source',
          `importing snapshot ${opts.snapshotName} (database ${opts.sourceDatabase})`,
        );
      }
      try {
        await target.client.query(`SET statement_timeout = 0`);
        if (replicaRole) {
          await target.client.query(`SET session_replication_role = replica`);
          replica.push({ index, source, target });
        }
      } catch (e) {
        // 42501: not a superuser and not granted SET on it (15+). Loading still works without it.
        if (!isPgServerError(e) || e.code !== '42501')
          throw sqlError(e, 'target', 'preparing a COPY session');
        replicaRole = false;
      }
      workers.push({ index, source, target });
    }
    if (!replicaRole)
      for (const w of replica) await w.target.client.query(`SET session_replication_role = origin`);
    return { workers, replicaRole };
  } catch (e) {
    await Promise.all(opened.map((c) => c.close()));
    throw e;
  }
}

/** End the workers' snapshot transactions and close every connection. */
export async function closeWorkers(workers: readonly Worker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      await w.source.client.query('ROLLBACK').catch(() => undefined);
      await w.source.close();
      await w.target.close();
    }),
  );
}

/**
 * Run `units` on the workers, each unit exactly once, at most one per worker at a time. A unit's `run`
 * may return follow-up units (a table's index builds once its last range is in): they go to the FRONT
 * of the queue, so the next free worker takes them before more copies, and a long index build overlaps
 * the copies still running. A worker with nothing to take waits while others run, since they may add
 * more. On the first failure (or when `signal` aborts) no further unit is started and `abort` is called
 * to cut the ones in flight short (by closing connections); the first error is then thrown.
 */
export async function runOnWorkers<W, U>(
  workers: readonly W[],
  units: readonly U[],
  run: (worker: W, unit: U) => Promise<readonly U[] | void>,
  abort: () => void,
  signal?: AbortSignal,
): Promise<void> {
  const queue = [...units];
  let running = 0;
  let waiting: (() => void)[] = [];
  const wakeAll = () => {
    const w = waiting;
    waiting = [];
    for (const wake of w) wake();
  };
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    abort();
    wakeAll();
  };
  const onAbort = () => fail(signal?.reason ?? new Error('aborted'));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      workers.map(async (w) => {
        // Invariant: a unit leaves the queue exactly once, and only while nothing has failed.
        while (!failure) {
          const unit = queue.shift();
          if (unit === undefined) {
            if (running === 0) return wakeAll();
            await new Promise<void>((resolve) => waiting.push(resolve));
            continue;
          }
          running++;
          try {
            const more = await run(w, unit);
            if (more && more.length > 0) queue.unshift(...more);
          } catch (e) {
            fail(e);
          } finally {
            running--;
            wakeAll();
          }
        }
      }),
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
}
