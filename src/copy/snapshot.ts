import { DtsError, ExitCode } from '../errors.js';
import type { Connection } from '../pg/connect.js';
import { isPgServerError, sqlError } from '../pg/errors.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import type { Queryable } from './read.js';

/**
 * The instant every table is copied at. `consistentPoint` is the LSN from which the slot decodes exactly
 * the transactions the snapshot does not see: incremental sync starts there, so it is recorded durably.
 */
export interface ExportedSnapshot {
  readonly slot: string;
  /** A temporary slot goes away with the replication connection (mode: full needs no slot afterwards). */
  readonly temporary: boolean;
  readonly consistentPoint: string;
  /** The name workers pass to SET TRANSACTION SNAPSHOT. */
  readonly snapshotName: string;
  readonly createdAt: Date;
}

/**
 * Create the task's logical slot on a `replication=database` connection and export its snapshot.
 *
 * The old keyword form `... LOGICAL pgoutput EXPORT_SNAPSHOT` is used because `(SNAPSHOT 'export')` is a
 * syntax error before PostgreSQL 15 and the old form still works on 15-18. The exported snapshot lives
 * only while this connection runs nothing else: the caller must leave it idle until every worker has
 * imported it, then close it (which also drops a temporary slot).
 */
export async function createSlotWithSnapshot(
  replication: Connection,
  slot: string,
  temporary: boolean,
): Promise<ExportedSnapshot> {
  const command = `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} ${temporary ? 'TEMPORARY ' : ''}LOGICAL pgoutput EXPORT_SNAPSHOT`;
  try {
    const { rows } = await replication.client.query(command);
    const r = rows[0] as { consistent_point: string; snapshot_name: string };
    return {
      slot,
      temporary,
      consistentPoint: String(r.consistent_point),
      snapshotName: String(r.snapshot_name),
      createdAt: new Date(),
    };
  } catch (e) {
    if (isPgServerError(e) && e.code === '42710')
      throw new DtsError(
        'slot-exists',
        `source: the replication slot ${slot} already exists (database ${replication.database})`,
        {
          hint: 'another run of this task is in progress, or a previous one left it behind: drop it with SELECT pg_drop_replication_slot(...) once nothing uses it',
          exitCode: ExitCode.source,
          cause: e,
        },
      );
    throw sqlError(e, 'source', `creating the replication slot ${slot} (database ${replication.database})`);
  }
}

/**
 * Start a read-only REPEATABLE READ transaction that sees exactly the exported snapshot. Every COPY of
 * the load runs inside one of these, which is what makes all tables (and all ranges of a split table)
 * agree with each other and with the slot's consistent point.
 */
export async function importSnapshot(db: Queryable, snapshotName: string): Promise<void> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  await db.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotName)}`);
}
