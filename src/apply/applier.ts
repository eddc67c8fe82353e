import { DtsError, ExitCode } from '../errors.js';
import type { Connection } from '../pg/connect.js';
import { isPgServerError } from '../pg/errors.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { relationLabel, type Relation, type RowChange } from '../replication/change.js';
import { readCheckpoint, writeCheckpoint, type CheckpointKey } from './checkpoint.js';
import { Batch } from './batch.js';
import * as sql from './sql.js';
import { mapRelation, type TableMap, type TargetColumn, type TargetTable } from './table-map.js';

/**
 * Pending changes are sent once this many are queued or their values reach this many bytes (and at every
 * commit): a bound on memory whatever the size of a source transaction, and large enough that one round
 * trip carries thousands of changes.
 */
const SEND_ROWS = 10_000;
const SEND_BYTES = 4 * 1024 * 1024;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

/**
 * Writes Changes into one target database. It holds at most one open target transaction (a "batch") that
 * may span many source transactions or part of a large one; `commit()` ends it with the checkpoint row
 * written inside it. Changes are queued in a Batch (batch.ts: which reorderings are safe and why), which
 * turns them into multi-row INSERT, UPDATE ... FROM (VALUES ...) and DELETE ... USING (VALUES ...)
 * statements; these go to the target many at a time in one simple-query round trip. Nothing here decides
 * *when* to commit: the sync loop does, at source-transaction boundaries only.
 */
export class Applier {
  private readonly tables = new Map<number, TableMap>();
  private open = false;
  private readonly batch: Batch;
  /** Row changes written in the open batch. */
  changes = 0;

  private constructor(
    private readonly conn: Connection,
    private readonly key: CheckpointKey,
    /** Whether session_replication_role = replica could be set (else triggers and FK checks run). */
    readonly replicaRole: boolean,
    /** The stored apply position when opened (undefined: never applied). */
    readonly position: Lsn | undefined,
  ) {
    this.batch = new Batch(!replicaRole);
  }

  /** Prepare the session and the checkpoint table, and read the stored position. */
  static async open(conn: Connection, key: CheckpointKey): Promise<Applier> {
    const db = conn.client;
    let replicaRole = true;
    try {
      await db.query(sql.SET_REPLICA_ROLE);
    } catch (e) {
      if (!(isPgServerError(e) && e.code === '42501')) throw e;
      replicaRole = false;
    }
    for (const s of sql.SESSION_SETTINGS) await db.query(s);
    for (const s of sql.CREATE_CHECKPOINT) {
      try {
        await db.query(s);
      } catch (e) {
        // Two sessions creating _dts at once: the loser sees a unique violation; the object exists then.
        if (!(isPgServerError(e) && (e.code === '23505' || e.code === '42P06' || e.code === '42P07')))
          throw e;
      }
    }
    return new Applier(conn, key, replicaRole, await readCheckpoint(db, key));
  }

  /** A Relation message: map it onto the target table, or fail if the schemas no longer agree. */
  async relation(relation: Relation): Promise<void> {
    this.batch.sealAll();
    const target = await this.readTarget(relation.schema, relation.name);
    this.tables.set(relation.id, mapRelation(relation, target));
  }

  private async readTarget(schema: string, name: string): Promise<TargetTable | undefined> {
    const { rows } = await this.conn.client.query(sql.TARGET_TABLE, [schema, name]);
    const first = rows[0] as Row | undefined;
    if (!first) return undefined;
    const columns: TargetColumn[] = (rows as Row[])
      .filter((r) => r.name !== null)
      .map((r) => ({
        name: String(r.name),
        typeOid: Number(r.type_oid),
        typeMod: Number(r.type_mod),
        typeName: `${String(r.type_schema)}.${String(r.type_name)}`,
        baseTypeName: r.base_name === null ? undefined : `${String(r.base_schema)}.${String(r.base_name)}`,
        typeDisplay: String(r.type_display),
        elemOid: Number(r.type_elem),
        baseOid: Number(r.type_base),
        generated: r.generated !== '' && r.generated !== null,
        identityAlways: r.identity === 'a',
      }));
    const unique = await this.conn.client.query(sql.TARGET_UNIQUE_INDEXES, [schema, name]);
    const byIndex = new Map<string, string[]>();
    for (const r of unique.rows as Row[]) {
      const cols = byIndex.get(String(r.index)) ?? [];
      if (r.name !== null) cols.push(String(r.name));
      byIndex.set(String(r.index), cols);
    }
    const uniqueIndexes = [...byIndex.values()];
    return { schema, name, partitioned: first.relkind === 'p', columns, uniqueIndexes };
  }

  private map(relation: Relation): TableMap {
    const m = this.tables.get(relation.id);
    if (!m) throw new Error(`apply: no Relation message seen for ${relationLabel(relation)}`);
    return m;
  }

  private async begin(): Promise<void> {
    if (this.open) return;
    await this.conn.client.query('BEGIN');
    this.open = true;
  }

  /** Apply one row change (or TRUNCATE) inside the open batch, starting one if needed. */
  async apply(change: RowChange): Promise<void> {
    await this.begin();
    this.changes++;
    switch (change.kind) {
      case 'insert':
        this.batch.insert(this.map(change.relation), change.values);
        break;
      case 'update':
        this.batch.update(this.map(change.relation), change.old, change.values);
        break;
      case 'delete':
        this.batch.delete(this.map(change.relation), change.old);
        break;
      case 'truncate':
        this.batch.truncate(
          change.relations.map((r) => this.map(r)),
          change.restartIdentity,
          change.cascade,
        );
        break;
    }
    if (this.batch.rows >= SEND_ROWS || this.batch.bytes >= SEND_BYTES) await this.send();
  }

  /** Send what is queued, in one round trip, and check every statement changed the rows it had to. */
  private async send(): Promise<void> {
    const statements = this.batch.take();
    if (statements.length === 0) return;
    const text = statements.map((s) => s.text).join(';\n');
    const out = (await this.conn.client.query(text)) as unknown as
      { rowCount: number | null } | { rowCount: number | null }[];
    const results = Array.isArray(out) ? out : [out];
    statements.forEach((s, i) => {
      if (s.rows === undefined) return;
      const n = results[i]?.rowCount ?? 0;
      if (n !== s.rows)
        throw s.missing
          ? rowMissing(s.missing.map, s.missing.what)
          : new Error(`apply: a statement changed ${n} rows instead of ${s.rows}`);
    });
  }

  /** Whether a batch is open on the target. */
  get inBatch(): boolean {
    return this.open;
  }

  /**
   * Commit the batch with `lsn` (the commit end LSN of the last source transaction in it) as the stored
   * position, in the same target transaction. Returns once the target reported COMMIT.
   */
  async commit(lsn: Lsn, transactions: number): Promise<void> {
    await this.begin();
    await this.send();
    const moved = await writeCheckpoint(this.conn.client, this.key, lsn, transactions);
    if (!moved) {
      await this.rollback();
      throw new DtsError(
        'apply-position-moved',
        `target: the apply position of ${this.key.database} is already at or past ${formatLsn(lsn)}`,
        {
          hint: 'another dts process is applying this database; stop it, then run dts again',
          exitCode: ExitCode.state,
        },
      );
    }
    await this.conn.client.query('COMMIT');
    this.open = false;
    this.changes = 0;
  }

  /** Throw away the open batch (its transactions are received again after a restart). */
  async rollback(): Promise<void> {
    this.batch.clear();
    this.changes = 0;
    if (!this.open) return;
    this.open = false;
    await this.conn.client.query('ROLLBACK');
  }
}

function rowMissing(map: TableMap, what: 'update' | 'delete'): DtsError {
  return new DtsError(
    'target-row-missing',
    `target: the row of ${relationLabel(map.relation)} that the source changed (${what}) is not on the target`,
    {
      hint: 'the target diverged from the source (rows changed on the target, or a table loaded incompletely): reload the table, then run dts again',
      exitCode: ExitCode.target,
    },
  );
}
