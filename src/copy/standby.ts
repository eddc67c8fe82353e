import { setTimeout as sleep } from 'node:timers/promises';
import { DtsError, ExitCode } from '../errors.js';
import { connect, type Connection } from '../pg/connect.js';
import { isPgServerError } from '../pg/errors.js';
import { compareLsn, parseLsn } from '../pg/lsn.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Endpoint, Task } from '../task/types.js';
import type { Queryable } from './read.js';

/**
 * A source that is a hot standby (PostgreSQL 16+). What differs from a primary, each checked on real
 * servers:
 * - The standby is read-only: CREATE and DROP PUBLICATION run on its primary (`source.primary`), and reach
 *   the standby by replay. dts waits for that replay before it makes the slot, so the slot's snapshot
 *   sees the publication.
 * - CREATE_REPLICATION_SLOT on a standby waits for a running-xacts record from the primary. The primary's
 *   background writer logs one every 15 s, but only when WAL was written since the last one: on an idle
 *   primary it never comes. With a primary connection dts asks for one (pg_log_standby_snapshot()) every
 *   second until the slot exists; without one it says what it waits for.
 * - EXPORT_SNAPSHOT works on a standby, and workers import the snapshot there as on a primary: the copy
 *   is as consistent as on a primary.
 * - Sequences are read on the standby; a standby's value runs up to 32 increments ahead of what the
 *   primary handed out (sequences are WAL-logged ahead), which keeps the target's ahead as well.
 * - The walsender's keepalives carry the replay position, so the keepalive heartbeat (cursor.ts) works
 *   unchanged: no WAL needs to be written on the standby.
 */

/** The endpoint publication DDL runs on: the primary when the source is a standby, else the source. */
export function publicationEndpoint(task: Task): Endpoint {
  return task.sourcePrimary ?? task.source;
}

/** Whether the server is in recovery (a standby). */
export async function inRecovery(db: Queryable): Promise<boolean> {
  const { rows } = await db.query('SELECT pg_catalog.pg_is_in_recovery() AS r');
  return Boolean((rows[0] as { r: boolean }).r);
}

/** The error for a full+incremental task on a standby that names no primary. */
export function primaryNeeded(task: Task): DtsError {
  return new DtsError(
    'standby-needs-primary',
    `source: ${task.source.host}:${task.source.port} is a standby (read-only): the publication for mode full+incremental must be created on its primary`,
    {
      hint: 'add source.primary (url or host/port/user) to the task file; dts creates and drops only the publication there',
      exitCode: ExitCode.usage,
    },
  );
}

/** The primary's WAL write position (where a publication made just before is certainly behind). */
export async function primaryPosition(primary: Queryable): Promise<string> {
  const { rows } = await primary.query('SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn');
  return String((rows[0] as { lsn: string }).lsn);
}

/** Wait until the standby has replayed `lsn` (it streams from the primary; a few ms normally). */
export async function waitForReplay(
  standby: Queryable,
  lsn: string,
  onWait?: (text: string) => void,
  timeoutMs = 300_000,
): Promise<void> {
  const started = Date.now();
  let said = false;
  for (;;) {
    const { rows } = await standby.query('SELECT pg_catalog.pg_last_wal_replay_lsn()::text AS lsn');
    const replayed = (rows[0] as { lsn: string | null }).lsn;
    if (replayed !== null && compareLsn(parseLsn(replayed), parseLsn(lsn)) >= 0) return;
    if (Date.now() - started > timeoutMs)
      throw new DtsError(
        'standby-behind',
        `source: the standby has not replayed ${lsn} from its primary within ${Math.round(timeoutMs / 1000)} s`,
        {
          hint: 'check that the standby is streaming from the primary named in source.primary (pg_stat_wal_receiver)',
          exitCode: ExitCode.source,
        },
      );
    if (!said && Date.now() - started > 2_000) {
      said = true;
      onWait?.(`waiting for the standby to replay ${lsn} from its primary`);
    }
    await sleep(50);
  }
}

/**
 * Run `making` (CREATE_REPLICATION_SLOT on the standby) while helping it reach a consistent point: with a
 * primary connection, pg_log_standby_snapshot() there every second; without one (or without the
 * privilege), one message after a few seconds saying what the slot waits for.
 */
export async function whileStandbySlotIsMade<T>(
  task: Task,
  database: string,
  making: Promise<T>,
  opts: { readonly prompt?: PasswordPrompt; readonly onWait?: (text: string) => void },
): Promise<T> {
  let done = false;
  const settled = making.finally(() => {
    done = true;
  });
  const waiting = () =>
    opts.onWait?.(
      `the slot on the standby waits for a running-transactions record from the primary (logged every 15 s while the primary writes; run SELECT pg_log_standby_snapshot() on the primary to hurry it)`,
    );
  const nudge = async () => {
    let primary: Connection | undefined;
    if (task.sourcePrimary) {
      primary = await connect(task.sourcePrimary, {
        side: 'source',
        database,
        ...(opts.prompt ? { prompt: opts.prompt } : {}),
      }).catch(() => undefined);
    }
    try {
      let said = false;
      const started = Date.now();
      while (!done) {
        if (primary) {
          try {
            await primary.client.query('SELECT pg_catalog.pg_log_standby_snapshot()');
          } catch (e) {
            if (!isPgServerError(e)) throw e;
            await primary.close();
            primary = undefined; // no privilege: wait like without a primary
          }
        }
        if (!primary && !said && Date.now() - started > 3_000) {
          said = true;
          waiting();
        }
        await Promise.race([settled.catch(() => undefined), sleep(1_000)]);
      }
    } finally {
      await primary?.close();
    }
  };
  const helper = nudge().catch(() => undefined);
  try {
    return await settled;
  } finally {
    await helper;
  }
}
