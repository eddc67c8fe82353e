import { setTimeout as sleep } from 'node:timers/promises';
import { DtsError, ExitCode } from '../errors.js';
import type { Connection } from '../pg/connect.js';
import { isPgServerError, sqlError } from '../pg/errors.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../pg/quote.js';
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

/**
 * The task's publication for full+incremental, made before the slot so that the slot decodes every
 * selected table from its consistent point on. It lists the tables the copy copies: ordinary tables and
 * leaf partitions, never a partitioned parent. With publish_via_partition_root = false, changes arrive
 * named by their leaf partition, which the copy created and filled under the same name on the target, so
 * copy, publication and apply (which maps relations by schema and name) agree. A publication left by an
 * earlier, interrupted load is replaced.
 */
export async function createPublication(
  db: Queryable,
  publication: string,
  tables: readonly { readonly schema: string; readonly name: string }[],
): Promise<void> {
  await db.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
  const list = tables.map((t) => quoteQualified(t.schema, t.name)).join(', ');
  await db.query(
    `CREATE PUBLICATION ${quoteIdent(publication)}${list ? ` FOR TABLE ${list}` : ''} WITH (publish_via_partition_root = false)`,
  );
}

/**
 * Drop the task's slot in this database if an earlier load left it (a kept slot outlives its run): the
 * copy starts again from a new snapshot, and so must the slot.
 */
export async function dropSlotIfExists(db: Queryable, slot: string): Promise<void> {
  // A killed runner's walsender may hold the slot for a moment after the runner died: wait a little.
  for (let attempt = 0; attempt < 40; attempt++) {
    const { rows } = await db.query(
      `SELECT active, CASE WHEN NOT active THEN pg_catalog.pg_drop_replication_slot(slot_name) IS NULL END AS dropped
       FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const r = rows[0] as { active: boolean } | undefined;
    if (!r || !r.active) return;
    await sleep(250);
  }
}

/**
 * The tables a publication lists, as the calling transaction sees them: inside the exported snapshot,
 * the publication as of the slot's consistent point (leaf partitions, as the copy plans them).
 */
export async function readPublishedTables(
  db: Queryable,
  publication: string,
): Promise<readonly { readonly schema: string; readonly name: string }[]> {
  const { rows } = await db.query(
    `SELECT schemaname AS schema, tablename AS name FROM pg_catalog.pg_publication_tables WHERE pubname = $1`,
    [publication],
  );
  return (rows as { schema: string; name: string }[]).map((r) => ({
    schema: String(r.schema),
    name: String(r.name),
  }));
}
