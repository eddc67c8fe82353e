import { setTimeout as sleep } from 'node:timers/promises';
import { displayName } from '../catalog/display.js';
import { replicationNames } from '../catalog/names.js';
import { DtsError, ExitCode } from '../errors.js';
import { connect, connectInstance, withConnection } from '../pg/connect.js';
import { isPgServerError, sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import { quoteIdent } from '../pg/quote.js';
import type { Task } from '../task/types.js';
import { runnerLockHolders, tryLock, unlock } from './lock.js';
import * as sql from './sql.js';
import { forgetTask, readTaskState, recordCancelRequest, recordTaskPhase, type TaskState } from './store.js';
import { noState } from './status.js';
import { unwatchTask } from './target-writes.js';

export interface CancelDeps {
  readonly prompt?: PasswordPrompt;
  /** Also drop what dts created on the target: the databases it created, and the task's `_dts` rows. */
  readonly dropTarget?: boolean;
  /** How long to wait for a running runner to stop (default 60 s). */
  readonly timeoutMs?: number;
  readonly onStep?: (text: string) => void;
}

/** What `dts cancel` did. */
export interface CancelReport {
  readonly task: string;
  /** A runner was running and stopped. */
  readonly stoppedRunner: boolean;
  /** The phase recorded before the cancel. */
  readonly previousPhase: string | undefined;
  readonly droppedSlots: readonly string[];
  readonly droppedPublications: readonly string[];
  readonly droppedDatabases: readonly string[];
  /** What dts created and left in place (said so people can decide). */
  readonly left: readonly string[];
}

const prompt = (deps: { readonly prompt?: PasswordPrompt }) => (deps.prompt ? { prompt: deps.prompt } : {});

/** The task's recorded state in the target endpoint's database, or undefined. */
async function readState(task: Task, deps: CancelDeps): Promise<TaskState | undefined> {
  const c = await connectInstance(task.target, { side: 'target', ...prompt(deps) });
  try {
    return c.missingDatabase === undefined ? await readTaskState(c.client, task.name) : undefined;
  } catch (e) {
    throw sqlError(e, 'target', 'reading the _dts state');
  } finally {
    await c.close();
  }
}

/**
 * Drop the task's replication slots and publications on the source. The names come from
 * replicationNames(); slots are found in pg_replication_slots whatever their database, publications in
 * each database the task touched. Something already gone is fine: the runner and `cancel` may both do this.
 */
export async function releaseSource(
  task: Task,
  databases: readonly string[],
  deps: { readonly prompt?: PasswordPrompt } = {},
): Promise<{ slots: string[]; publications: string[] }> {
  const slots: string[] = [];
  const publications: string[] = [];
  const c = await connectInstance(task.source, { side: 'source', ...prompt(deps) });
  const dbs = new Set(databases);
  try {
    const { rows } = await c.client.query(
      `SELECT slot_name, database FROM pg_catalog.pg_replication_slots WHERE slot_type = 'logical'`,
    );
    for (const r of rows as { slot_name: string; database: string }[]) {
      if (replicationNames(task, r.database).slot !== r.slot_name) continue;
      dbs.add(r.database);
      // A slot is still active for a moment after its runner's connection closed: retry briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          await c.client.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [r.slot_name]);
          slots.push(r.slot_name);
          break;
        } catch (e) {
          if (isPgServerError(e) && e.code === '42704') break;
          if (isPgServerError(e) && e.code === '55006' && attempt < 20) {
            await sleep(250);
            continue;
          }
          throw sqlError(e, 'source', `dropping the replication slot ${r.slot_name}`);
        }
      }
    }
  } finally {
    await c.close();
  }
  for (const database of dbs) {
    const { publication } = replicationNames(task, database);
    // A standby source's publication lives on its primary (a standby is read-only).
    const home = task.sourcePrimary ?? task.source;
    await withConnection(home, { side: 'source', database, ...prompt(deps) }, async (s) => {
      try {
        const found = await s.client.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [
          publication,
        ]);
        if (found.rows.length === 0) return;
        await s.client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
        publications.push(publication);
      } catch (e) {
        throw sqlError(e, 'source', `dropping the publication ${publication} (database ${database})`);
      }
    }).catch((e: unknown) => {
      // A database dropped since on the source has no publication left to drop.
      if (e instanceof DtsError && e.code === 'no-database') return;
      throw e;
    });
  }
  return { slots, publications };
}

/**
 * `dts cancel` as a library call. With a runner alive: hold the task's cancel lock (the runner checks
 * for it every second and stops, recording `cancelled`) and wait until the runner lock is free. Then,
 * runner or not: drop the slots and publications on the source and record `cancelled`. Throws exit 5
 * when there is nothing to cancel (never ran here, or done) and when the runner does not stop in time.
 */
export async function cancel(task: Task, deps: CancelDeps = {}): Promise<CancelReport> {
  const timeoutMs = deps.timeoutMs ?? 60_000;
  const before = await readState(task, deps);
  const c = await connectInstance(task.target, { side: 'target', ...prompt(deps) });
  let stoppedRunner = false;
  try {
    const cancelLock = sql.cancelLockName(task.name);
    const holders = await runnerLockHolders(c.client, task.name).catch((e: unknown) => {
      throw sqlError(e, 'target', 'reading pg_locks');
    });
    if (holders.length === 0) {
      if (!before) throw noState(task);
      if (before.phase === 'done' || before.phase === 'completed')
        throw new DtsError('already-done', `task ${task.name} is already done; nothing to cancel`, {
          hint: 'a finished mode: full task holds no slot or publication on the source',
          exitCode: ExitCode.state,
        });
    } else {
      deps.onStep?.(`asking the runner of ${task.name} to stop`);
      await tryLock(c.client, cancelLock);
      if (c.missingDatabase === undefined && before)
        await recordCancelRequest(c.client, task.name).catch(() => undefined);
      const deadline = Date.now() + timeoutMs;
      // Invariant: we hold the cancel lock for as long as we wait, so the runner sees it at its next poll.
      while ((await runnerLockHolders(c.client, task.name)).length > 0) {
        if (Date.now() > deadline) {
          await unlock(c.client, cancelLock).catch(() => undefined);
          const r = before?.runner;
          throw new DtsError(
            'cancel-timeout',
            `the runner of task ${task.name} did not stop within ${Math.round(timeoutMs / 1000)} s`,
            {
              hint: `stop it${r ? ` (pid ${r.pid} on host ${r.host})` : ''} by hand, then run \`dts cancel ${task.file}\` again`,
              exitCode: ExitCode.state,
            },
          );
        }
        await sleep(200);
      }
      stoppedRunner = true;
      await unlock(c.client, cancelLock).catch(() => undefined);
    }
  } finally {
    await c.close();
  }

  // The runner may have created the state while we waited (a first run stopped right after pre-data).
  const now = stoppedRunner ? await readState(task, deps) : before;
  const databases = [
    ...new Set([
      ...(now?.databases.map((d) => d.source) ?? []),
      ...(now?.loads.map((l) => l.sourceDatabase) ?? []),
      ...(task.objects.databases === 'all' ? [] : task.objects.databases.map((d) => d.name)),
    ]),
  ];
  deps.onStep?.('dropping the replication slots and publications on the source');
  const released = await releaseSource(task, databases, deps);

  const left: string[] = [];
  const droppedDatabases: string[] = [];
  if (now) {
    await withConnection(task.target, { side: 'target', ...prompt(deps) }, (t) =>
      recordTaskPhase(t.client, task.name, 'cancelled').catch((e: unknown) => {
        throw sqlError(e, 'target', 'recording the cancel in _dts.tasks');
      }),
    );
    await unwatchTask(
      task,
      now.loads.map((l) => l.targetDatabase),
      deps,
    );
  }
  if (deps.dropTarget && now) {
    for (const d of now.databases) {
      if (!d.createdDatabase) {
        left.push(
          `the objects dts created in database ${displayName(d.target)} (dts did not create that database, so it drops nothing in it)`,
        );
        continue;
      }
      if (d.target === task.target.database) continue; // holds _dts: dropped last
      deps.onStep?.(`dropping database ${displayName(d.target)} on the target`);
      await dropDatabase(task, d.target, deps);
      droppedDatabases.push(d.target);
    }
    const home = now.databases.find((d) => d.createdDatabase && d.target === task.target.database);
    if (home) {
      deps.onStep?.(`dropping database ${displayName(home.target)} on the target (with _dts)`);
      await dropDatabase(task, home.target, deps);
      droppedDatabases.push(home.target);
    } else {
      await withConnection(task.target, { side: 'target', ...prompt(deps) }, (t) =>
        forgetTask(t.client, task.name).catch((e: unknown) => {
          throw sqlError(e, 'target', 'removing the task from _dts');
        }),
      );
    }
  }
  return {
    task: task.name,
    stoppedRunner,
    previousPhase: before?.phase,
    droppedSlots: released.slots,
    droppedPublications: released.publications,
    droppedDatabases,
    left,
  };
}

async function dropDatabase(task: Task, database: string, deps: CancelDeps): Promise<void> {
  const c = await connect(task.target, {
    side: 'target',
    database: database === 'postgres' ? 'template1' : 'postgres',
    ...prompt(deps),
  });
  try {
    await c.client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
  } catch (e) {
    throw sqlError(e, 'target', `dropping database ${database}`);
  } finally {
    await c.close();
  }
}
