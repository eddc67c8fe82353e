import type { Queryable } from './store.js';

/**
 * The hold handshake between `dts verify` and the runner of a syncing task, through `_dts.holds` on the
 * target (one row per task, so at most one hold at a time). It lets verify read source and target as of
 * the same source position while the source keeps writing:
 *
 *   verify                                   runner (polls every pollMs)
 *   1. request: state `pause`, a deadline    2. stops applying between transactions (checkpoint
 *                                               committed), records `paused`
 *   3. source snapshot S at LSN L_d per       4. applies every transaction committing before L_d in each
 *      database (temporary slot), writes         database (syncDatabase stopAt), records `held`
 *      state `advance` with the L_d
 *   5. target snapshots taken; deletes the    6. resumes streaming (or cuts over when a cutover request
 *      row (release)                             was recorded meanwhile)
 *
 * Invariant: while the row is in state `held`, every target database holds exactly the source
 * transactions committed before its L_d, which are exactly those the snapshot S_d sees.
 *
 * A hold is never left behind: its deadline (`expires_at`, server time of the target) is extended by the
 * verify holding it; once it passes, the runner resumes as if released and a later request replaces it.
 */
export const CREATE_HOLDS = `
CREATE TABLE IF NOT EXISTS _dts.holds (
  task text PRIMARY KEY,
  token text NOT NULL,
  state text NOT NULL,
  positions jsonb,
  requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
)`;

/** A new request replaces only an expired one (or one of the same token). */
const REQUEST_HOLD = `
INSERT INTO _dts.holds AS h (task, token, state, expires_at)
VALUES ($1, $2, 'pause', pg_catalog.now() + $3::int * interval '1 millisecond')
ON CONFLICT (task) DO UPDATE
  SET token = excluded.token, state = 'pause', positions = NULL, requested_at = pg_catalog.now(),
      expires_at = excluded.expires_at, updated_at = pg_catalog.now()
  WHERE h.expires_at < pg_catalog.now() OR h.token = excluded.token
RETURNING token`;

const READ_HOLD = `
SELECT token, state, positions, expires_at > pg_catalog.now() AS live FROM _dts.holds WHERE task = $1`;

const SET_HOLD_STATE = `
UPDATE _dts.holds SET state = $3, positions = COALESCE($4::jsonb, positions), updated_at = pg_catalog.now()
WHERE task = $1 AND token = $2`;

const EXTEND_HOLD = `
UPDATE _dts.holds SET expires_at = pg_catalog.now() + $3::int * interval '1 millisecond'
WHERE task = $1 AND token = $2`;

const RELEASE_HOLD = `DELETE FROM _dts.holds WHERE task = $1 AND token = $2`;

/** Where a hold is: asked (`pause`), runner stopped (`paused`), positions given (`advance`), reached (`held`). */
export type HoldState = 'pause' | 'paused' | 'advance' | 'held';

export interface Hold {
  readonly token: string;
  readonly state: HoldState;
  /** Source database -> LSN: the runner's applied positions (`paused`), the hold positions (`advance`, `held`). */
  readonly positions: Readonly<Record<string, string>>;
  /** False once the deadline has passed: the runner treats it as released. */
  readonly live: boolean;
}

export async function ensureHolds(db: Queryable): Promise<void> {
  await db.query(CREATE_HOLDS);
}

/** Ask the runner to pause; false when another unexpired hold is in place. */
export async function requestHold(
  db: Queryable,
  task: string,
  token: string,
  ttlMs: number,
): Promise<boolean> {
  const { rows } = await db.query(REQUEST_HOLD, [task, token, Math.round(ttlMs)]);
  return rows.length === 1;
}

export async function readHold(db: Queryable, task: string): Promise<Hold | undefined> {
  const r = (await db.query(READ_HOLD, [task])).rows[0] as
    { token: string; state: HoldState; positions: unknown; live: boolean } | undefined;
  if (!r) return undefined;
  const positions = typeof r.positions === 'string' ? (JSON.parse(r.positions) as unknown) : r.positions;
  return {
    token: String(r.token),
    state: r.state,
    positions: (positions ?? {}) as Record<string, string>,
    live: r.live === true || (r.live as unknown) === 't',
  };
}

/** Move the hold `token` to `state`; false when it is gone (released or replaced). */
export async function setHoldState(
  db: Queryable,
  task: string,
  token: string,
  state: HoldState,
  positions?: Readonly<Record<string, string>>,
): Promise<boolean> {
  const r = await db.query(SET_HOLD_STATE, [
    task,
    token,
    state,
    positions ? JSON.stringify(positions) : null,
  ]);
  return (r.rowCount ?? 0) === 1;
}

export async function extendHold(db: Queryable, task: string, token: string, ttlMs: number): Promise<void> {
  await db.query(EXTEND_HOLD, [task, token, Math.round(ttlMs)]);
}

export async function releaseHold(db: Queryable, task: string, token: string): Promise<void> {
  await db.query(RELEASE_HOLD, [task, token]);
}
