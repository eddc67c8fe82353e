import { displayName } from '../catalog/display.js';
import { DtsError, ExitCode } from '../errors.js';
import { connectInstance } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import { runnerLockHolders, type LockHolder } from './lock.js';
import { readTaskState, type TaskState } from './store.js';

/**
 * Where a task stands, as people think of it. `running`: a runner holds the lock. `interrupted`: the
 * recorded phase is not final but nobody holds the lock (the runner was killed or stopped with Ctrl-C);
 * `dts run` resumes it.
 */
export type TaskCondition = 'running' | 'interrupted' | 'done' | 'failed' | 'cancelled';

/** One table that is not fully copied yet. */
export interface TableStatus {
  readonly table: string;
  readonly parts: number;
  readonly partsDone: number;
  readonly partsRunning: number;
  /** Rows and bytes of the finished parts. */
  readonly rows: number;
  readonly bytes: number;
}

export interface DatabaseStatus {
  readonly source: string;
  readonly target: string;
  /** The load's phase (`copy`, `copied`, `refresh`, `done`), or `waiting` before its snapshot. */
  readonly phase: string;
  readonly consistentPoint: string | undefined;
  readonly snapshotAt: string | undefined;
  readonly tablesDone: number;
  readonly tablesTotal: number;
  /** Of finished units only: a COPY in flight reports its rows when it commits. */
  readonly rows: number;
  readonly bytes: number;
  /** From the load's start to its end, or to now while it runs. */
  readonly elapsedMs: number | undefined;
  readonly preData: boolean;
  readonly postData: boolean;
  readonly unfinished: readonly TableStatus[];
}

/** What `dts status` shows; `--json` prints it as it is. */
export interface StatusSnapshot {
  readonly task: string;
  readonly mode: string;
  /** The phase recorded in `_dts.tasks`. */
  readonly phase: string;
  readonly condition: TaskCondition;
  /** One line for people: the condition and what to do next. */
  readonly summary: string;
  readonly runner: {
    readonly alive: boolean;
    /** From `_dts.tasks`, when the record is the lock holder's (alive) or the last runner's (not). */
    readonly pid: number | undefined;
    readonly host: string | undefined;
    readonly since: string | undefined;
    readonly backendPid: number | undefined;
  };
  readonly cancelRequestedAt: string | undefined;
  readonly updatedAt: string;
  readonly databases: readonly DatabaseStatus[];
  /** When this snapshot was read. */
  readonly at: string;
}

const FINAL: Readonly<Record<string, TaskCondition>> = {
  done: 'done',
  completed: 'done',
  cancelled: 'cancelled',
  failed: 'failed',
  'post-data failed': 'failed',
};

/** Conditions after which nothing changes without a new command (`--watch` stops there). */
export const SETTLED: ReadonlySet<TaskCondition> = new Set(['done', 'failed', 'cancelled']);

/** The snapshot from the recorded state and the lock holders. Pure: `now` is passed in. */
export function summarizeStatus(
  state: TaskState,
  holders: readonly LockHolder[],
  file: string,
  now: Date,
): StatusSnapshot {
  const alive = holders.length > 0;
  const final = FINAL[state.phase];
  const condition: TaskCondition =
    alive && FINAL[state.phase] !== 'done' ? 'running' : (final ?? 'interrupted');
  const r = state.runner;
  const trusted = r && (!alive || holders.some((h) => h.backendPid === r.backendPid));
  const who = trusted && r ? ` (pid ${r.pid} on host ${r.host} since ${r.startedAt.toISOString()})` : '';
  const summary = {
    running: `running${who}, phase ${state.phase}`,
    interrupted: `interrupted (no runner); run \`dts run ${file}\` to resume`,
    done: state.phase === 'completed' ? 'completed (cut over)' : 'done',
    failed: `failed (${state.phase}); run \`dts run ${file}\` to try again`,
    cancelled: `cancelled; \`dts run --restart ${file}\` starts it again`,
  }[condition];

  const names = new Set([
    ...state.databases.map((d) => d.source),
    ...state.loads.map((l) => l.sourceDatabase),
  ]);
  const databases = [...names].sort().map((source): DatabaseStatus => {
    const d = state.databases.find((x) => x.source === source);
    const load = state.loads.find((l) => l.sourceDatabase === source);
    const units = state.tables.filter((t) => t.database === source);
    const byTable = new Map<string, typeof units>();
    for (const u of units) {
      const key = displayName(u.schema, u.table);
      byTable.set(key, [...(byTable.get(key) ?? []), u]);
    }
    const unfinished: TableStatus[] = [];
    let tablesDone = 0;
    for (const [table, parts] of byTable) {
      const done = parts.filter((p) => p.done);
      if (done.length === parts[0]!.parts) {
        tablesDone++;
        continue;
      }
      unfinished.push({
        table,
        parts: parts[0]!.parts,
        partsDone: done.length,
        partsRunning: parts.filter((p) => !p.done && p.startedAt !== undefined).length,
        rows: done.reduce((n, p) => n + p.rows, 0),
        bytes: done.reduce((n, p) => n + p.bytes, 0),
      });
    }
    const doneUnits = units.filter((u) => u.done);
    const end = load?.finishedAt ?? (condition === 'running' ? now : state.updatedAt);
    return {
      source,
      target: d?.target ?? load?.targetDatabase ?? source,
      phase: load?.phase ?? 'waiting',
      consistentPoint: load?.consistentPoint,
      snapshotAt: load?.snapshotAt.toISOString(),
      tablesDone,
      tablesTotal: byTable.size,
      rows: doneUnits.reduce((n, u) => n + u.rows, 0),
      bytes: doneUnits.reduce((n, u) => n + u.bytes, 0),
      elapsedMs: load ? Math.max(0, end.getTime() - load.startedAt.getTime()) : undefined,
      preData: d?.preDataAt !== undefined,
      postData: d?.postDataAt !== undefined,
      unfinished,
    };
  });
  return {
    task: state.task,
    mode: state.mode,
    phase: state.phase,
    condition,
    summary,
    runner: {
      alive,
      pid: trusted ? r?.pid : undefined,
      host: trusted ? r?.host : undefined,
      since: trusted ? r?.startedAt.toISOString() : undefined,
      backendPid: alive ? holders[0]!.backendPid : undefined,
    },
    cancelRequestedAt: state.cancelRequestedAt?.toISOString(),
    updatedAt: state.updatedAt.toISOString(),
    databases,
    at: now.toISOString(),
  };
}

export function noState(task: Task): DtsError {
  return new DtsError('no-state', `task ${task.name} has not run on this target (no _dts state)`, {
    hint: `\`dts run ${task.file}\` starts it; check that target points where the task ran`,
    exitCode: ExitCode.state,
  });
}

/**
 * `dts status` as a library call: read `_dts` and the runner lock on the target. Read-only: it never
 * writes and never takes the lock, so any role that can read `_dts` may run it. Throws `no-state` (exit 5)
 * when the task never ran on this target.
 */
export async function status(
  task: Task,
  deps: { readonly prompt?: PasswordPrompt; readonly now?: () => Date } = {},
): Promise<StatusSnapshot> {
  const c = await connectInstance(task.target, {
    side: 'target',
    ...(deps.prompt ? { prompt: deps.prompt } : {}),
  });
  try {
    const read = async () => {
      const state = c.missingDatabase === undefined ? await readTaskState(c.client, task.name) : undefined;
      return state ? { state, holders: await runnerLockHolders(c.client, task.name) } : undefined;
    };
    const found = await read().catch((e: unknown) => {
      throw sqlError(e, 'target', 'reading the _dts state');
    });
    if (!found) throw noState(task);
    return summarizeStatus(found.state, found.holders, task.file, deps.now?.() ?? new Date());
  } finally {
    await c.close();
  }
}
