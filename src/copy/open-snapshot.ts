import { displayName } from '../catalog/display.js';
import { replicationNames } from '../catalog/names.js';
import { DtsError, ExitCode } from '../errors.js';
import { connect, withConnection } from '../pg/connect.js';
import type { Task } from '../task/types.js';
import type { FullLoadDeps } from './full-load.js';
import { promptOf, sql, type DatabaseJob } from './job.js';
import { planCopy } from './plan.js';
import { readServerFacts, readSourceTables } from './read.js';
import {
  createPublication,
  createSlotWithSnapshot,
  dropSlotIfExists,
  readPublishedTables,
  type ExportedSnapshot,
} from './snapshot.js';
import {
  inRecovery,
  primaryNeeded,
  primaryPosition,
  publicationEndpoint,
  waitForReplay,
  whileStandbySlotIsMade,
} from './standby.js';
import type { CopyPlan } from './types.js';
import { closeWorkers, openWorkers, type Worker } from './workers.js';

/** A snapshot with its workers inside it, and the copy plan read inside it. */
export interface OpenSnapshot {
  readonly snapshot: ExportedSnapshot;
  readonly workers: readonly Worker[];
  readonly replicaRole: boolean;
  readonly plan: CopyPlan;
  readonly slot: string;
}

/** How often a snapshot is taken again when the tables changed while it was being taken. */
const SNAPSHOT_ATTEMPTS = 3;

/** The set of tables the publication lists differs from the set the snapshot sees (see `takeSnapshot`). */
class SelectionMoved extends Error {
  constructor(readonly difference: readonly string[]) {
    super(`the selected tables changed while the snapshot was taken: ${difference.join(', ')}`);
  }
}

const tableSet = (tables: readonly { schema: string; name: string }[]) =>
  new Set(tables.map((t) => displayName(t.schema, t.name)));

/**
 * Take the database's snapshot (`takeSnapshot`), again when the selected tables moved while it was
 * taken, at most SNAPSHOT_ATTEMPTS times; then fail clearly, leaving no slot behind.
 */
export async function openSnapshot(task: Task, job: DatabaseJob, deps: FullLoadDeps): Promise<OpenSnapshot> {
  const database = job.source;
  const emit = (text: string) => deps.onEvent?.({ type: 'step', text });
  let taken: OpenSnapshot | undefined;
  for (let attempt = 1; taken === undefined; attempt++) {
    try {
      taken = await takeSnapshot(task, job, deps);
    } catch (e) {
      if (!(e instanceof SelectionMoved)) throw e;
      if (attempt >= SNAPSHOT_ATTEMPTS) {
        // The kept slot of the last attempt would hold WAL for nothing; the next run makes its own.
        const { slot } = replicationNames(task, database);
        await withConnection(task.source, { side: 'source', database, ...promptOf(deps) }, (c) =>
          sql('source', `dropping the replication slot ${slot}`, () => dropSlotIfExists(c.client, slot)),
        );
        throw new DtsError(
          'selection-moving',
          `source: the selected tables of ${displayName(database)} kept changing while the snapshot was taken`,
          {
            hint: 'run again once tables are no longer being created or dropped in the source database',
            exitCode: ExitCode.source,
            details: [`changed: ${e.difference.join(', ')}`],
          },
        );
      }
      emit(
        `tables were created or dropped in ${displayName(database)} while the snapshot was taken (${e.difference.join(', ')}); taking it again`,
      );
    }
  }
  return taken;
}

/**
 * The publication (full+incremental), the slot with its exported snapshot, the workers inside it, and
 * the copy plan read inside it.
 *
 * Invariant (full+incremental): the tables copied are exactly the tables the publication lists, both
 * as of the snapshot. The publication is made from a read taken before the slot; a table created or
 * dropped in between would be copied without its changes, or published without its rows. So the
 * selection is read again inside the snapshot, and the publication's list with it (catalog reads see the
 * snapshot too); when they differ, everything is dropped and taken again (SelectionMoved).
 */
async function takeSnapshot(task: Task, job: DatabaseJob, deps: FullLoadDeps): Promise<OpenSnapshot> {
  const database = job.source;
  const emit = (text: string) => deps.onEvent?.({ type: 'step', text });
  const prompt = promptOf(deps);
  const { slot, publication } = replicationNames(task, database);
  const standby = await withConnection(task.source, { side: 'source', database, ...prompt }, (c) =>
    sql('source', `reading whether ${displayName(database)} is on a standby`, () => inRecovery(c.client)),
  );
  if (deps.keepSlot) {
    if (standby && !task.sourcePrimary) throw primaryNeeded(task);
    await withConnection(task.source, { side: 'source', database, ...prompt }, (c) =>
      sql('source', `creating the publication ${publication} (database ${database})`, async () => {
        const facts = await readServerFacts(c.client);
        const { tables } = planCopy({
          tables: await readSourceTables(c.client),
          patterns: job.patterns,
          splitTableBytes: task.options.splitTableBytes,
          parallel: task.options.parallel,
          blockSize: facts.blockSize,
          sameEncoding: true,
        });
        await dropSlotIfExists(c.client, slot);
        if (!standby) {
          await createPublication(c.client, publication, tables);
          return;
        }
        // A standby is read-only: the publication is made on its primary, and the slot (made next, on
        // the standby) must see it, so wait until the standby has replayed it.
        const written = await withConnection(
          publicationEndpoint(task),
          { side: 'source', database, ...prompt },
          async (p) => {
            await createPublication(p.client, publication, tables);
            return primaryPosition(p.client);
          },
        );
        await waitForReplay(c.client, written, emit);
      }),
    );
    await deps.afterPublication?.(database);
  }
  const replication = await connect(task.source, { side: 'source', database, replication: true, ...prompt });
  let opened;
  let snapshot;
  try {
    const making = createSlotWithSnapshot(replication, slot, !deps.keepSlot);
    snapshot = standby
      ? await whileStandbySlotIsMade(task, database, making, { ...prompt, onWait: emit })
      : await making;
    deps.onEvent?.({
      type: 'snapshot',
      database,
      slot,
      consistentPoint: snapshot.consistentPoint,
      snapshotName: snapshot.snapshotName,
    });
    // The replication connection runs nothing else until every worker has imported the snapshot.
    opened = await openWorkers(task, Math.max(1, task.options.parallel), {
      sourceDatabase: database,
      targetDatabase: job.target,
      snapshotName: snapshot.snapshotName,
      ...prompt,
    });
  } finally {
    // Imported snapshots outlive their exporter; a temporary slot is dropped here, a kept one stays.
    await replication.close();
  }
  const { workers, replicaRole } = opened;
  const first = workers[0]!;
  try {
    const { plan, published } = await sql(
      'source',
      `reading the tables of ${displayName(database)}`,
      async () => {
        const facts = await readServerFacts(first.source.client);
        const targetFacts = await readServerFacts(first.target.client);
        const plan = planCopy({
          tables: await readSourceTables(first.source.client),
          patterns: job.patterns,
          splitTableBytes: task.options.splitTableBytes,
          parallel: task.options.parallel,
          blockSize: facts.blockSize,
          sameEncoding: facts.encoding === targetFacts.encoding,
        });
        const published = deps.keepSlot
          ? await readPublishedTables(first.source.client, publication)
          : undefined;
        return { plan, published };
      },
    );
    if (published !== undefined) {
      const copied = tableSet(plan.tables);
      const listed = tableSet(published);
      const difference = [
        ...[...copied].filter((t) => !listed.has(t)).map((t) => `${t} (new)`),
        ...[...listed].filter((t) => !copied.has(t)).map((t) => `${t} (gone)`),
      ];
      if (difference.length > 0) throw new SelectionMoved(difference);
    }
    return { snapshot, workers, replicaRole, plan, slot };
  } catch (e) {
    await closeWorkers(workers);
    throw e;
  }
}
