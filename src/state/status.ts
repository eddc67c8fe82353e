import { displayName } from '../catalog/display.js';
import { DtsError, ExitCode } from '../errors.js';
import { connectInstance } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import { computeLag, FRESH_MS } from './lag.js';
import { runnerLockHolders, type LockHolder } from './lock.js';
import * as sql from './sql.js';
import { readTaskTargetWrites, type TargetWrite } from './target-writes.js';
import { readSyncProgress, readTaskState, type StoredSyncProgress, type TaskState } from './store.js';

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
  /** Incremental sync's figures, while the task syncs (phases syncing and cutover). */
  readonly sync?: SyncStatus;
}

/** One database's incremental sync, as the runner last wrote it plus the source's live position. */
export interface SyncStatus {
  /** `starting`, `streaming`, `reconnecting` or `done`, as the runner last wrote it. */
  readonly state: string;
  /** Commit end LSN of the last source transaction applied, and its commit time on the source. */
  readonly appliedLsn: string | undefined;
  readonly appliedCommitTime: string | undefined;
  /** The furthest position the stream delivered. */
  readonly receivedLsn: string | undefined;
  /** What the slot was told is done with. */
  readonly confirmedLsn: string | undefined;
  /** See lag.ts: undefined when the source could not be read (bytes) or nothing tells (seconds). */
  readonly lagBytes: number | undefined;
  readonly lagSeconds: number | undefined;
  readonly caughtUp: boolean;
  /** Over the runner's last interval. */
  readonly transactionsPerSecond: number;
  readonly rowsPerSecond: number;
  /** Of the current (or last) run. */
  readonly transactions: number;
  readonly changes: number;
  readonly reconnects: number;
  /** WAL the source keeps for the slot: its current position minus the slot's restart_lsn. */
  readonly walRetainedBytes: number | undefined;
  readonly lastError: string | undefined;
  readonly lastErrorAt: string | undefined;
  /** When the runner wrote these figures, and how long before this snapshot (by the target's clock). */
  readonly figuresAt: string;
  readonly figuresAgeMs: number;
}

/** The source's live figures for status: its position, its clock and each slot's retained WAL. */
export interface SourceLive {
  readonly currentLsn: string;
  readonly now: Date;
  /** Retained bytes by slot name; a slot missing here no longer exists. */
  readonly retained: ReadonlyMap<string, number>;
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
  /** What stopped the last runner, while no runner is running (cleared once sync streams again). */
  readonly lastError?: {
    readonly message: string;
    readonly sqlstate: string | undefined;
    readonly hint: string | undefined;
    readonly at: string;
  };
  readonly updatedAt: string;
  readonly databases: readonly DatabaseStatus[];
  /**
   * Whether the source was read for the live sync figures (only while syncing): when it was not, the lag in
   * bytes and the retained WAL are unknown, and `error` says why.
   */
  readonly source?: { readonly reachable: boolean; readonly error?: string };
  /** When this snapshot was read. */
  readonly at: string;
  /** While syncing: writes to the target that dts did not make (see target-writes.ts); none is good. */
  readonly targetWrites?: readonly TargetWrite[];
}

/** The phases in which status shows incremental sync's figures. */
export const SYNC_PHASES: ReadonlySet<string> = new Set(['syncing', 'cutover']);

/** One database's sync status from the runner's record and, when it could be read, the live source. */
export function syncStatusOf(
  record: StoredSyncProgress,
  live: SourceLive | undefined,
  opts: {
    readonly slot?: string;
    readonly snapshotAt?: Date;
    readonly runnerAlive: boolean;
    readonly now: Date;
  },
): SyncStatus {
  const lag = computeLag(record, live ? { currentLsn: live.currentLsn, now: live.now } : undefined, {
    runnerAlive: opts.runnerAlive,
    now: opts.now,
    ...(opts.snapshotAt ? { since: opts.snapshotAt } : {}),
  });
  // Rates are of the runner's last interval: a runner that stopped writing applies nothing now.
  const current = opts.runnerAlive && record.ageMs <= FRESH_MS;
  return {
    state: record.state,
    appliedLsn: record.appliedLsn,
    appliedCommitTime: record.appliedCommitTime?.toISOString(),
    receivedLsn: record.receivedLsn,
    confirmedLsn: record.confirmedLsn,
    lagBytes: lag.bytes,
    lagSeconds: lag.seconds === undefined ? undefined : Math.round(lag.seconds * 10) / 10,
    caughtUp: lag.caughtUp,
    transactionsPerSecond: current ? Math.round(record.txRate * 10) / 10 : 0,
    rowsPerSecond: current ? Math.round(record.rowRate * 10) / 10 : 0,
    transactions: record.transactions,
    changes: record.changes,
    reconnects: record.reconnects,
    walRetainedBytes: live && opts.slot !== undefined ? live.retained.get(opts.slot) : undefined,
    lastError: record.lastError,
    lastErrorAt: record.lastErrorAt?.toISOString(),
    figuresAt: record.updatedAt.toISOString(),
    figuresAgeMs: Math.round(record.ageMs),
  };
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
  sync?: {
    readonly records: readonly StoredSyncProgress[];
    readonly live: SourceLive | undefined;
    readonly sourceError?: string;
  },
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
    const record = sync?.records.find((r) => r.database === source);
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
      ...(record && SYNC_PHASES.has(state.phase)
        ? {
            sync: syncStatusOf(record, sync?.live, {
              runnerAlive: alive,
              now,
              ...(load ? { slot: load.slot, snapshotAt: load.snapshotAt } : {}),
            }),
          }
        : {}),
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
    ...(state.lastError && condition !== 'running' && condition !== 'done'
      ? {
          lastError: {
            message: state.lastError.message,
            sqlstate: state.lastError.sqlstate,
            hint: state.lastError.hint,
            at: state.lastError.at.toISOString(),
          },
        }
      : {}),
    updatedAt: state.updatedAt.toISOString(),
    databases,
    ...(sync && SYNC_PHASES.has(state.phase)
      ? {
          source: {
            reachable: sync.live !== undefined,
            ...(sync.sourceError !== undefined ? { error: sync.sourceError } : {}),
          },
        }
      : {}),
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
      if (!state) return undefined;
      const holders = await runnerLockHolders(c.client, task.name);
      const records = SYNC_PHASES.has(state.phase) ? await readSyncProgress(c.client, task.name) : [];
      return { state, holders, records };
    };
    const found = await read().catch((e: unknown) => {
      throw sqlError(e, 'target', 'reading the _dts state');
    });
    if (!found) throw noState(task);
    let sync: Parameters<typeof summarizeStatus>[4];
    let targetWrites: TargetWrite[] | undefined;
    if (SYNC_PHASES.has(found.state.phase)) {
      // The task's own target database is read on this session; others need one each.
      const open = c.missingDatabase === undefined ? { database: c.database, db: c.client } : undefined;
      targetWrites = await readTaskTargetWrites(
        task,
        found.state.loads.map((l) => l.targetDatabase),
        { ...deps, ...(open ? { open } : {}) },
      );
      const live = await readSourceLive(task, deps).then(
        (l) => ({ live: l }),
        (e: unknown) => ({ live: undefined, sourceError: e instanceof Error ? e.message : String(e) }),
      );
      sync = { records: found.records, ...live };
    }
    const snapshot = summarizeStatus(found.state, found.holders, task.file, deps.now?.() ?? new Date(), sync);
    return targetWrites ? { ...snapshot, targetWrites } : snapshot;
  } finally {
    await c.close();
  }
}

/** The source's current WAL position, its clock, and the WAL each slot retains (one connection). */
export async function readSourceLive(
  task: Task,
  deps: { readonly prompt?: PasswordPrompt } = {},
): Promise<SourceLive> {
  const s = await connectInstance(task.source, {
    side: 'source',
    ...(deps.prompt ? { prompt: deps.prompt } : {}),
  });
  try {
    const position = (await s.client.query(sql.SOURCE_POSITION)).rows[0] as { lsn: string; now: unknown };
    const slots = (await s.client.query(sql.SLOTS_RETAINED)).rows as {
      slot: string;
      retained: string | null;
    }[];
    return {
      currentLsn: String(position.lsn),
      now: new Date(position.now as string),
      retained: new Map(
        slots.filter((r) => r.retained !== null).map((r) => [String(r.slot), Number(r.retained)] as const),
      ),
    };
  } catch (e) {
    throw sqlError(e, 'source', 'reading the WAL position and the replication slots');
  } finally {
    await s.close();
  }
}
