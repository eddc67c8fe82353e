import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSlotWithSnapshot, importSnapshot } from '../copy/snapshot.js';
import { DtsError, ExitCode } from '../errors.js';
import { connect, type Connection } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import { parseLsn } from '../pg/lsn.js';
import type { PasswordPrompt } from '../pg/password.js';
import {
  ensureHolds,
  extendHold,
  readHold,
  releaseHold,
  requestHold,
  setHoldState,
  type HoldState,
} from '../state/hold.js';
import type { Queryable } from '../state/store.js';
import type { Task } from '../task/types.js';
import { APPLIED_POSITION, APPLY_POSITION_EXISTS, SESSION_SETTINGS } from './sql.js';

/** A source and a target session of one database, both inside the snapshot they are compared at. */
export interface WorkerPair {
  readonly source: Connection;
  readonly target: Connection;
}

/** One database's worker pairs. */
export interface DatabaseSnapshots {
  readonly source: string;
  readonly target: string;
  readonly workers: readonly WorkerPair[];
}

export interface OpenedSnapshots {
  readonly databases: readonly DatabaseSnapshots[];
  /** Live: the source position per database both sides were read at. */
  readonly positions: Readonly<Record<string, string>>;
  /** Let the runner go on (live; nothing otherwise). Idempotent. */
  release(): Promise<void>;
  /** Close every session (and release). */
  close(): Promise<void>;
}

export interface SnapshotDeps {
  readonly prompt?: PasswordPrompt;
  readonly onStep?: (text: string) => void;
  /** A hold's deadline, extended while verify holds it (default 30 s). */
  readonly holdTtlMs?: number;
  /** How long the runner may take to reach the hold position (default 10 minutes; to pause: 1 minute). */
  readonly holdTimeoutMs?: number;
}

interface DatabasePair {
  readonly source: string;
  readonly target: string;
}

const prompt = (deps: SnapshotDeps) => (deps.prompt ? { prompt: deps.prompt } : {});

async function session(
  task: Task,
  side: 'source' | 'target',
  database: string,
  deps: SnapshotDeps,
): Promise<Connection> {
  const c = await connect(side === 'source' ? task.source : task.target, {
    side,
    database,
    rawValues: true,
    ...prompt(deps),
  });
  try {
    for (const s of SESSION_SETTINGS) await c.client.query(s);
  } catch (e) {
    await c.close();
    throw sqlError(e, side, 'preparing a verify session');
  }
  return c;
}

/** `n` sessions of one side inside one exported snapshot (the exporter is committed afterwards). */
async function sessionsAt(
  task: Task,
  side: 'source' | 'target',
  database: string,
  n: number,
  snapshotName: string,
  deps: SnapshotDeps,
): Promise<Connection[]> {
  const out: Connection[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const c = await session(task, side, database, deps);
      out.push(c);
      await importSnapshot(c.client, snapshotName).catch((e: unknown) => {
        throw sqlError(e, side, `importing the snapshot (database ${database})`);
      });
    }
    return out;
  } catch (e) {
    await Promise.all(out.map((c) => c.close()));
    throw e;
  }
}

/** Sessions inside the current state of one side: a REPEATABLE READ transaction exported and shared. */
async function currentState(
  task: Task,
  side: 'source' | 'target',
  database: string,
  n: number,
  deps: SnapshotDeps,
  check?: (exporter: Queryable) => Promise<void>,
): Promise<Connection[]> {
  const exporter = await session(task, side, database, deps);
  try {
    const name = await (async () => {
      await exporter.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const { rows } = await exporter.client.query('SELECT pg_catalog.pg_export_snapshot() AS name');
      return String((rows[0] as { name: string }).name);
    })().catch((e: unknown) => {
      throw sqlError(e, side, `exporting a snapshot (database ${database})`);
    });
    await check?.(exporter.client);
    return await sessionsAt(task, side, database, n, name, deps);
  } finally {
    await exporter.close();
  }
}

function closer(databases: DatabaseSnapshots[], release: () => Promise<void>) {
  return async () => {
    await release().catch(() => undefined);
    await Promise.all(
      databases.flatMap((d) => d.workers.flatMap((w) => [w.source.close(), w.target.close()])),
    );
  };
}

/**
 * Sessions reading the current state of both sides (no runner applies changes: a full load, a stopped
 * sync, a completed task). Each side is one consistent snapshot per database; the source may move on
 * between the two snapshots if it is still written to.
 */
export async function openCurrent(
  task: Task,
  pairs: readonly DatabasePair[],
  parallel: number,
  deps: SnapshotDeps = {},
): Promise<OpenedSnapshots> {
  const databases: DatabaseSnapshots[] = [];
  const release = async () => undefined;
  try {
    for (const p of pairs) {
      const source = await currentState(task, 'source', p.source, parallel, deps);
      const target = await currentState(task, 'target', p.target, parallel, deps).catch(
        async (e: unknown) => {
          await Promise.all(source.map((c) => c.close()));
          throw e;
        },
      );
      databases.push({ ...p, workers: source.map((s, i) => ({ source: s, target: target[i]! })) });
    }
  } catch (e) {
    await closer(databases, release)();
    throw e;
  }
  return { databases, positions: {}, release, close: closer(databases, release) };
}

/**
 * Sessions reading both sides as of the same source position per database while the task syncs, through
 * the hold handshake with the runner (state/hold.ts):
 *
 * 1. ask the runner to pause, and wait until it has (its checkpoints are committed, its position P_d);
 * 2. per database, a temporary logical slot created with EXPORT_SNAPSHOT on the source gives snapshot S_d
 *    at LSN L_d >= P_d; the source sessions import S_d (the slot goes with its connection afterwards);
 * 3. the runner applies every transaction committing before L_d (exactly those S_d sees) and holds;
 * 4. the target sessions take one exported snapshot per database, and check in it that the stored apply
 *    position is <= L_d (so the runner had not moved on: the target is exactly at L_d);
 * 5. release (unless the caller keeps the hold, as `complete --verify` does until it records the cutover).
 */
export async function openLive(
  task: Task,
  state: Queryable,
  pairs: readonly DatabasePair[],
  parallel: number,
  deps: SnapshotDeps = {},
): Promise<OpenedSnapshots> {
  const ttl = deps.holdTtlMs ?? 30_000;
  const timeout = deps.holdTimeoutMs ?? 600_000;
  const token = randomBytes(8).toString('hex');
  const fail = (doing: string) => (e: unknown) => {
    throw sqlError(e, 'target', doing);
  };
  await ensureHolds(state).catch(fail('creating _dts.holds'));
  if (!(await requestHold(state, task.name, token, ttl).catch(fail('recording a hold in _dts.holds'))))
    throw new DtsError('hold-busy', `another dts verify of task ${task.name} is holding its sync`, {
      hint: 'wait for it to finish (a hold lapses 30 s after its verify stops)',
      exitCode: ExitCode.state,
    });
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    await releaseHold(state, task.name, token).catch(fail('releasing the hold'));
  };
  let extending = false;
  const heartbeat = setInterval(
    () => {
      if (extending) return;
      extending = true;
      extendHold(state, task.name, token, ttl)
        .catch(() => undefined)
        .finally(() => (extending = false));
    },
    Math.max(100, ttl / 3),
  );
  const databases: DatabaseSnapshots[] = [];
  const close = closer(databases, release);
  const waitFor = async (wanted: HoldState, what: string, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const h = await readHold(state, task.name).catch(fail('reading the hold'));
      if (!h || h.token !== token)
        throw new DtsError('hold-lost', `the hold on the sync of task ${task.name} was lost`, {
          hint: 'another dts verify replaced it, or this one was too slow to extend it; run verify again',
          exitCode: ExitCode.state,
        });
      if (h.state === wanted) return;
      if (Date.now() > deadline)
        throw new DtsError('hold-timeout', `the runner of task ${task.name} did not ${what} in time`, {
          hint: `is \`dts run ${task.file}\` syncing? \`dts status ${task.file}\` shows it`,
          exitCode: ExitCode.state,
        });
      await sleep(100);
    }
  };
  const sources: Connection[][] = [];
  try {
    deps.onStep?.('asking the runner to hold sync');
    // The runner looks every second; a minute without an answer means it is not listening.
    await waitFor('paused', 'pause', Math.min(timeout, 60_000));
    const positions: Record<string, string> = {};
    for (const p of pairs) {
      const replication = await connect(task.source, {
        side: 'source',
        database: p.source,
        replication: true,
        ...prompt(deps),
      });
      try {
        const slot = `dts_verify_${token}`;
        const snapshot = await createSlotWithSnapshot(replication, slot, true);
        positions[p.source] = snapshot.consistentPoint;
        // The replication connection stays idle until every session has imported the snapshot.
        sources.push(await sessionsAt(task, 'source', p.source, parallel, snapshot.snapshotName, deps));
      } finally {
        await replication.close();
      }
    }
    deps.onStep?.(
      `source snapshots at ${Object.values(positions).join(', ')}; the runner applies up to them`,
    );
    await setHoldState(state, task.name, token, 'advance', positions).catch(
      fail('recording the hold positions'),
    );
    await waitFor('held', 'reach the hold position', timeout);
    for (const [i, p] of pairs.entries()) {
      const at = positions[p.source]!;
      const target = await currentState(task, 'target', p.target, parallel, deps, async (exporter) => {
        const present = (await exporter.query(APPLY_POSITION_EXISTS)).rows[0] as { present: unknown };
        if (!(present.present === true || present.present === 't')) return;
        const { rows } = await exporter.query(APPLIED_POSITION, [task.name, p.source]);
        const applied = (rows[0] as { lsn: string } | undefined)?.lsn;
        if (applied !== undefined && parseLsn(applied) > parseLsn(at))
          throw new DtsError(
            'hold-lost',
            `the target database ${p.target} is past the hold position ${at} (at ${applied})`,
            { hint: 'the runner did not hold; run verify again', exitCode: ExitCode.state },
          );
      });
      databases.push({ ...p, workers: sources[i]!.map((s, k) => ({ source: s, target: target[k]! })) });
    }
    return { databases, positions, release, close };
  } catch (e) {
    await close();
    for (const s of sources.slice(databases.length)) await Promise.all(s.map((c) => c.close()));
    throw e;
  }
}
