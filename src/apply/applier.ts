import { DtsError, ExitCode } from '../errors.js';
import type { Connection } from '../pg/connect.js';
import { isPgServerError } from '../pg/errors.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { quoteQualified } from '../pg/quote.js';
import {
  relationLabel,
  UNCHANGED,
  type Relation,
  type RowChange,
  type Value,
} from '../replication/change.js';
import { readCheckpoint, writeCheckpoint, type CheckpointKey } from './checkpoint.js';
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

/** Rows per multi-row INSERT, and a bound on its parameters (the protocol allows 65535). */
const INSERT_ROWS = 1000;
const INSERT_PARAMS = 30_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

/**
 * Writes Changes into one target database. It holds at most one open target transaction (a "batch") that
 * may span many source transactions or part of a large one; `commit()` ends it with the checkpoint row
 * written inside it. Consecutive inserts into one table are sent as one multi-row INSERT; every other change
 * is one statement, in the order received. Nothing here decides *when* to commit: the sync loop does,
 * at source-transaction boundaries only.
 */
export class Applier {
  private readonly tables = new Map<number, TableMap>();
  private open = false;
  private inserts: { map: TableMap; rows: Value[][] } | undefined;
  /** Row changes written in the open batch. */
  changes = 0;

  private constructor(
    private readonly conn: Connection,
    private readonly key: CheckpointKey,
    /** Whether session_replication_role = replica could be set (else triggers and FK checks run). */
    readonly replicaRole: boolean,
    /** The stored apply position when opened (undefined: never applied). */
    readonly position: Lsn | undefined,
  ) {}

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
    await this.flushInserts();
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
    return { schema, name, partitioned: first.relkind === 'p', columns };
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
    if (change.kind === 'insert') {
      const map = this.map(change.relation);
      if (this.inserts && this.inserts.map !== map) await this.flushInserts();
      this.inserts ??= { map, rows: [] };
      this.inserts.rows.push(change.values as Value[]);
      const width = map.write.filter(Boolean).length || 1;
      if (this.inserts.rows.length >= Math.min(INSERT_ROWS, Math.floor(INSERT_PARAMS / width)))
        await this.flushInserts();
      return;
    }
    await this.flushInserts();
    switch (change.kind) {
      case 'update':
        return this.update(this.map(change.relation), change.old, change.values);
      case 'delete':
        return this.delete(this.map(change.relation), change.old);
      case 'truncate': {
        const tables = change.relations.map((r) => this.map(r).target);
        await this.query(sql.truncate(tables, change.restartIdentity, change.cascade), []);
        return;
      }
    }
  }

  private async flushInserts(): Promise<void> {
    const pending = this.inserts;
    if (!pending) return;
    this.inserts = undefined;
    const { map, rows } = pending;
    const cols = map.relation.columns.filter((_, i) => map.write[i]).map((c) => c.name);
    const params: (string | null)[] = [];
    for (const row of rows)
      row.forEach((v, i) => {
        if (!map.write[i]) return;
        if (v === UNCHANGED)
          throw new Error(`apply: INSERT into ${relationLabel(map.relation)} without a value`);
        params.push(v);
      });
    if (cols.length === 0) {
      for (const _ of rows) await this.query(`INSERT INTO ${sqlName(map)} DEFAULT VALUES`, []);
      return;
    }
    const overriding = map.identityAlways.some((always, i) => always && map.write[i]);
    await this.query(
      sql.insertRows(map.target.schema, map.target.name, cols, rows.length, overriding),
      params,
    );
  }

  /** Which columns identify the row, with their values: the old tuple for FULL, else the key columns. */
  private identity(map: TableMap, old: readonly Value[] | undefined, values: readonly Value[]) {
    const match: sql.MatchColumn[] = [];
    const params: (string | null)[] = [];
    map.relation.columns.forEach((c, i) => {
      if (!map.full && !c.key) return;
      const v = map.full ? old?.[i] : (old ?? values)[i];
      // A value not sent (an unchanged TOASTed one in a FULL old tuple) cannot be compared: the other
      // columns still pick a row with exactly those values, and ctid makes it one.
      if (v === undefined || v === UNCHANGED) return;
      match.push(map.match[i]!);
      params.push(v);
    });
    if (match.length === 0)
      throw new DtsError(
        'no-identity',
        `source: a change to ${relationLabel(map.relation)} carries no replica identity values`,
        {
          hint: 'give the table a primary key or REPLICA IDENTITY FULL on the source',
          exitCode: ExitCode.source,
        },
      );
    return { match, params };
  }

  private async update(map: TableMap, old: readonly Value[] | undefined, values: readonly Value[]) {
    const set: string[] = [];
    const setParams: (string | null)[] = [];
    map.relation.columns.forEach((c, i) => {
      const v = values[i];
      // An unchanged TOASTed value is not sent: leave the column alone, never write NULL over it.
      if (!map.write[i] || v === undefined || v === UNCHANGED) return;
      if (map.identityAlways[i]) {
        // The target refuses any value but DEFAULT for an ALWAYS identity column in an UPDATE. An unchanged
        // one is left out; a changed one (only `SET id = DEFAULT` on the source can do that) cannot be
        // reproduced, so stop rather than let the target drift.
        const before = old?.[i];
        if (before === undefined || before === UNCHANGED || before === v) return;
        throw new DtsError(
          'identity-changed',
          `source: an UPDATE of ${relationLabel(map.relation)} changed its GENERATED ALWAYS identity column ${c.name}, which the target cannot take`,
          {
            hint: 'on the target, ALTER TABLE ... ALTER COLUMN ... SET GENERATED BY DEFAULT for the migration, then run dts again',
            exitCode: ExitCode.target,
          },
        );
      }
      set.push(c.name);
      setParams.push(v);
    });
    const id = this.identity(map, old, values);
    if (set.length === 0) return;
    const text = sql.updateRow(
      map.target.schema,
      map.target.name,
      set,
      id.match,
      map.full,
      map.target.partitioned,
    );
    const n = await this.query(text, [...setParams, ...id.params]);
    if (n !== 1) throw rowMissing(map, 'update');
  }

  private async delete(map: TableMap, old: readonly Value[]) {
    const id = this.identity(map, old, old);
    const text = sql.deleteRow(
      map.target.schema,
      map.target.name,
      id.match,
      map.full,
      map.target.partitioned,
    );
    const n = await this.query(text, id.params);
    if (n !== 1) throw rowMissing(map, 'delete');
  }

  private async query(text: string, params: readonly (string | null)[]): Promise<number> {
    try {
      const r = await this.conn.client.query(text, params as unknown[]);
      return r.rowCount ?? 0;
    } catch (e) {
      throw isPgServerError(e) && REFUSED.test(e.code ?? '') ? refused(e) : e;
    }
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
    await this.flushInserts();
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
    this.inserts = undefined;
    this.changes = 0;
    if (!this.open) return;
    this.open = false;
    await this.conn.client.query('ROLLBACK');
  }
}

function sqlName(map: TableMap): string {
  return quoteQualified(map.target.schema, map.target.name);
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
