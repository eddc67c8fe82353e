import { parseLsn } from '../pg/lsn.js';
import type { PasswordPrompt } from '../pg/password.js';
import { syncDatabase, type SyncProgress } from '../replication/index.js';
import { readHold, setHoldState } from '../state/hold.js';
import { readCutoverRequest, type LoadRecord, type Queryable } from '../state/store.js';
import type { Task } from '../task/types.js';

/** What the runner passes on to serve a hold. */
export interface ServeHoldDeps {
  readonly prompt?: PasswordPrompt;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SyncProgress) => void;
  readonly onStep?: (text: string) => void;
  readonly pollMs?: number;
}

/**
 * The runner's side of a `dts verify` hold (see state/hold.ts), called once every stream has stopped
 * cleanly (each database's checkpoint committed). Records `paused`; when verify gives the hold positions,
 * applies each database up to exactly its position (every transaction committing before it, none after)
 * and records `held`; then waits. Returns when the hold is released, replaced or past its deadline, when
 * a cutover request is recorded, or when the run is stopped: the caller then streams again or cuts over.
 */
export async function serveHold(
  task: Task,
  loads: readonly LoadRecord[],
  state: Queryable,
  token: string,
  deps: ServeHoldDeps = {},
): Promise<void> {
  const pollMs = Math.min(deps.pollMs ?? 1000, 250);
  const current = async () => {
    const h = await readHold(state, task.name);
    return h && h.token === token && h.live ? h : undefined;
  };
  if (!(await setHoldState(state, task.name, token, 'paused'))) return;
  deps.onStep?.('dts verify asked sync to hold; paused');
  for (;;) {
    if (deps.signal?.aborted) return;
    const h = await current();
    if (!h) return;
    if (h.state === 'advance') {
      await Promise.all(
        loads
          .filter((l) => h.positions[l.sourceDatabase] !== undefined)
          .map((l) =>
            syncDatabase(task, l.sourceDatabase, {
              fromLsn: parseLsn(l.consistentPoint),
              targetDatabase: l.targetDatabase,
              stopAt: parseLsn(h.positions[l.sourceDatabase]!),
              ...(deps.signal ? { signal: deps.signal } : {}),
              ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
              ...(deps.prompt ? { prompt: deps.prompt } : {}),
            }),
          ),
      );
      if (deps.signal?.aborted) return;
      if (!(await setHoldState(state, task.name, token, 'held'))) return;
      deps.onStep?.(`holding at ${Object.values(h.positions).join(', ')} while dts verify reads the target`);
      break;
    }
    await pause(pollMs, deps.signal);
  }
  for (;;) {
    if (deps.signal?.aborted) return;
    if (!(await current())) break;
    if (await readCutoverRequest(state, task.name)) break;
    await pause(pollMs, deps.signal);
  }
  deps.onStep?.('dts verify released sync');
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', done);
      resolve();
    }, ms);
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    signal?.addEventListener('abort', done, { once: true });
  });
}
