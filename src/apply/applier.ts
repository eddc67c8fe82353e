import copyStreams from 'pg-copy-streams';
import { DtsError, ExitCode } from '../errors.js';
import type { Connection } from '../pg/connect.js';
import { isPgServerError } from '../pg/errors.js';
import { formatLsn, ZERO_LSN, type Lsn } from '../pg/lsn.js';
import { relationLabel, type Relation, type RowChange } from '../replication/change.js';
import type { Queryable } from '../state/store.js';
import { readCheckpoint, type CheckpointKey } from './checkpoint.js';
import { Batch, type Statement } from './batch.js';
import * as sql from './sql.js';
import { mapRelation, type TableMap, type TargetColumn, type TargetTable } from './table-map.js';

/**
 * SQLSTATEs by which the target refuses a change for a cause the user fixes there (a privilege, a
 * constraint, a value, a limit, a full disk), unlike a lost connection, which sync retries.
 */
const REFUSED = /^(42|23|22|54|53100)/;

function refused(e: { message: string; code?: string; detail?: string }): DtsError {
  return new DtsError(
    'apply-refused',
    `target: applying a change failed: ${e.message} (SQLSTATE ${e.code ?? ''})`,
    {
      hint:
        (e.code === '42501' ? 'grant the target role that privilege' : 'fix the cause on the target') +
        ', then run dts again: it resumes after the last applied transaction (nothing after it was applied)',
      exitCode: ExitCode.target,
      cause: e,
      details: e.detail ? [`detail: ${e.detail}`] : [],
    },
  );
}

/**
 * Pending changes are sent once this many are queued or their values reach this many bytes (and at every
 * commit): a bound on memory whatever the size of a source transaction, and large enough that one round
 * trip carries a thousand changes or more. Not larger: queued rows and their statement text live until
 * the send, and at 5,000 rows they outlived V8's young generation, so every minor GC copied and promoted
 * them (garbage collection took 18 µs of dts's CPU per source transaction in the drain benchmark, 9.5 µs
 * at 2,000).
 */
const SEND_ROWS = 2_000;
const SEND_BYTES = 1024 * 1024;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

/**
 * Writes Changes into one target database. It holds at most one open target transaction (a "batch") that
 * may span many source transactions or part of a large one; `commit()` ends it with the checkpoint row
 * written inside it. Changes are queued in a Batch (batch.ts: which reorderings are safe and why), which
 * turns them into multi-row INSERT (or COPY), UPDATE ... FROM and DELETE ... USING statements (their
 * rows as one array per column, or as a VALUES list); these go to the target many at a time in one simple-query round trip. Nothing here decides
 * *when* to commit: the sync loop does, at source-transaction boundaries only.
 */
export class Applier {
  private readonly tables = new Map<number, TableMap>();
  private open = false;
  private readonly batch: Batch;
  private beginPending = false;
  /** Everything handed to the target so far; a failure is kept here until settle() or commit() sees it. */
  private tail: Promise<void> = Promise.resolve();
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
    await this.settle();
    const target = await readTargetTable(this.conn.client, relation.schema, relation.name);
    this.tables.set(relation.id, mapRelation(relation, target));
  }

  private map(relation: Relation): TableMap {
    const m = this.tables.get(relation.id);
    if (!m) throw new Error(`apply: no Relation message seen for ${relationLabel(relation)}`);
    return m;
  }

  /** Open the batch: BEGIN goes to the target with the first statements sent (no round trip of its own). */
  private begin(): void {
    if (this.open) return;
    this.open = true;
    this.beginPending = true;
  }

  /**
   * Apply one row change (or TRUNCATE) inside the open batch, starting one if needed. Returns a promise
   * only when the pending changes were sent (wait for it before the next change: it bounds memory);
   * most changes are only queued.
   */
  apply(change: RowChange): Promise<void> | undefined {
    this.begin();
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
    if (this.batch.rows >= SEND_ROWS || this.batch.bytes >= SEND_BYTES) return this.send();
    return undefined;
  }

  /**
   * Hand what is queued to the target, in one round trip, without waiting for the target to run it: the
   * next changes are decoded and queued meanwhile. The statements are taken at once; they go to the
   * target when everything sent before has run and changed the rows it had to (so at most one send is
   * in flight), and their own outcome is checked the same way. Returns what was sent before, settled:
   * waiting for it keeps the queue at one send ahead of the target. `last` is a commit's checkpoint
   * write, storing `lastLsn`.
   */
  private send(last?: Statement, lastLsn: Lsn = ZERO_LSN): Promise<void> {
    const statements = this.batch.take();
    if (last) statements.push(last);
    if (statements.length > 0 && this.beginPending) {
      statements.unshift({ text: 'BEGIN', rows: undefined });
      this.beginPending = false;
    }
    const before = this.tail;
    if (statements.length === 0) return before;
    const check = (counts: number[]) => {
      statements.forEach((s, i) => {
        if (s.rows === undefined) return;
        const n = counts[i] ?? 0;
        if (n === s.rows) return;
        if (s === last) throw positionMoved(this.key, lastLsn);
        throw s.missing
          ? rowMissing(s.missing.map, s.missing.what)
          : new Error(`apply: a statement changed ${n} rows instead of ${s.rows}`);
      });
    };
    this.chain(
      before.then(() =>
        this.run(statements).then(check, (e: unknown) => {
          throw isPgServerError(e) && REFUSED.test(e.code ?? '') ? refused(e) : e;
        }),
      ),
    );
    return before;
  }

  private chain(next: Promise<void>): void {
    // Awaited later; until then a failure must not count as unhandled.
    next.catch(() => undefined);
    this.tail = next;
  }

  /**
   * Run statements in order and return each one's row count. Consecutive SQL statements go as one
   * simple query; a COPY goes as its own, with its rows. Each query is issued when the one before it
   * returned (node-postgres sends one at a time anyway, and deprecates queueing them), and none after a
   * failure: the target would refuse the rest of the transaction, and the first failure is what this
   * rejects with.
   */
  private async run(statements: readonly Statement[]): Promise<number[]> {
    const db = this.conn.client;
    const counts: number[] = [];
    let group: Statement[] = [];
    const flush = async () => {
      if (group.length === 0) return;
      const text = group.map((s) => s.text).join(';\n');
      group = [];
      const out: unknown = await db.query(text);
      for (const r of (Array.isArray(out) ? out : [out]) as { rowCount: number | null }[])
        counts.push(r.rowCount ?? 0);
    };
    for (const s of statements) {
      if (s.copy === undefined) {
        group.push(s);
        continue;
      }
      await flush();
      const stream = db.query(copyStreams.from(s.text));
      counts.push(
        await new Promise<number>((resolve, reject) => {
          stream.on('error', reject);
          stream.on('finish', () => resolve(stream.rowCount));
          stream.end(s.copy);
        }),
      );
    }
    await flush();
    return counts;
  }

  /** Wait until everything handed to the target has run (and commits have returned); throws their failure. */
  private settle(): Promise<void> {
    return this.tail;
  }

  /**
   * Commit the batch with `lsn` (the commit end LSN of the last source transaction in it) as the stored
   * position, in the same target transaction. The batch's statements are taken at once, so changes applied
   * after this call go into the next batch while the target still works on this one: decoding overlaps the
   * target's work and its COMMIT. COMMIT is sent only after every statement of the batch changed exactly
   * the rows it had to; the next batch's statements only after COMMIT returned. The promise settles with
   * the COMMIT (or the failure, after a ROLLBACK); nothing of the batch is durable before it resolves.
   */
  commit(lsn: Lsn, transactions: number): Promise<void> {
    this.begin();
    // The checkpoint row goes with the last statements, in the same round trip and transaction.
    this.send({ text: checkpointStatement(this.key, lsn, transactions), rows: 1 }, lsn);
    const db = this.conn.client;
    const done = this.tail.then(
      () => db.query('COMMIT').then(() => undefined),
      async (e: unknown) => {
        await db.query('ROLLBACK').catch(() => undefined);
        throw e;
      },
    );
    this.chain(done);
    // The next batch starts now; its BEGIN goes with its first send, after this COMMIT.
    this.open = false;
    this.changes = 0;
    return done;
  }

  /** Throw away the open batch (its transactions are received again after a restart). */
  async rollback(): Promise<void> {
    this.batch.clear();
    this.changes = 0;
    await this.settle().catch(() => undefined);
    this.tail = Promise.resolve();
    if (!this.open) return;
    this.open = false;
    if (this.beginPending) {
      this.beginPending = false;
      return;
    }
    await this.conn.client.query('ROLLBACK');
  }
}

/** A target table's columns and unique indexes, from its catalog (undefined when there is no such table). */
export async function readTargetTable(
  db: Queryable,
  schema: string,
  name: string,
): Promise<TargetTable | undefined> {
  const { rows } = await db.query(sql.TARGET_TABLE, [schema, name]);
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
      arrayable: r.arrayable === true || r.arrayable === 't',
      identityAlways: r.identity === 'a',
    }));
  const unique = await db.query(sql.TARGET_UNIQUE_INDEXES, [schema, name]);
  const byIndex = new Map<string, string[]>();
  for (const r of unique.rows as Row[]) {
    const cols = byIndex.get(String(r.index)) ?? [];
    if (r.name !== null) cols.push(String(r.name));
    byIndex.set(String(r.index), cols);
  }
  const uniqueIndexes = [...byIndex.values()];
  return { schema, name, partitioned: first.relkind === 'p', columns, uniqueIndexes };
}

/** The checkpoint write of checkpoint.ts with literals, to travel in a batch of statements. */
function checkpointStatement(key: CheckpointKey, lsn: Lsn, transactions: number): string {
  const values = [key.task, key.database, key.slot, formatLsn(lsn), String(transactions)];
  return sql.WRITE_CHECKPOINT.replace(/\$(\d)/g, (_, n: string) => sql.literal(values[Number(n) - 1]!));
}

function positionMoved(key: CheckpointKey, lsn: Lsn): DtsError {
  return new DtsError(
    'apply-position-moved',
    `target: the apply position of ${key.database} is already at or past ${formatLsn(lsn)}`,
    {
      hint: 'another dts process is applying this database; stop it, then run dts again',
      exitCode: ExitCode.state,
    },
  );
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
