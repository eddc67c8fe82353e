import { resolveDatabases, matchesGlob } from '../catalog/selection.js';
import { planCopy } from '../copy/plan.js';
import { readServerFacts, readSourceTables } from '../copy/read.js';
import { DtsError, ExitCode, isDtsError, type Side } from '../errors.js';
import { connect, connectInstance, type Connection } from '../pg/connect.js';
import { sqlError } from '../pg/errors.js';
import { runnerLockHolders } from '../state/lock.js';
import { readTaskState, type TaskState } from '../state/store.js';
import type { Task } from '../task/types.js';
import { compareTable, type CompareOptions, type Queryable, type TableJob } from './compare.js';
import { compareSchema, readSchemaSide } from './schema.js';
import { openCurrent, openLive, type OpenedSnapshots, type SnapshotDeps } from './snapshots.js';
import { TABLES_WITH_KEYS } from './sql.js';
import type { Consistency, SchemaFinding, TableVerdict, VerifyReport } from './types.js';

export interface VerifyDeps extends SnapshotDeps {
  /** Globs over `schema.table` (or the bare table name): compare only these of the task's tables. */
  readonly tables?: readonly string[];
  /** Percent of each table's buckets to compare (default 100). */
  readonly samplePercent?: number;
  /** Sessions per side and database (default: the task's `parallel`). */
  readonly parallel?: number;
  /** Row differences listed per table (default 10). */
  readonly examples?: number;
  /** Include the rows' text in the differences (never by default). */
  readonly showRows?: boolean;
  readonly onTable?: (v: TableVerdict) => void;
}

/** A live verify whose hold is kept: the runner stays at `positions` until `release()`. */
export interface HeldVerify {
  readonly report: VerifyReport;
  readonly positions: Readonly<Record<string, string>>;
  release(): Promise<void>;
}

/**
 * `dts verify` as a library call: compare every table the task migrated (row counts and content) and
 * the structure of those tables and the sequences. A syncing task with a live runner is compared as of
 * one source position per database (see openLive); otherwise the current states are.
 */
export async function verify(task: Task, deps: VerifyDeps = {}): Promise<VerifyReport> {
  return (await run(task, deps, false)).report;
}

/**
 * The same for `dts complete --verify`, keeping the runner held at the verified positions (live only),
 * so that a cutover recorded at them covers exactly what was verified.
 */
export async function verifyHeld(task: Task, deps: VerifyDeps = {}): Promise<HeldVerify> {
  return run(task, deps, true);
}

const prompt = (deps: VerifyDeps) => (deps.prompt ? { prompt: deps.prompt } : {});

async function sql<T>(side: Side, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw sqlError(e, side, doing);
  }
}

/** Nothing was copied: there is nothing to compare. */
export function nothingToVerify(task: Task): DtsError {
  return new DtsError('nothing-to-verify', `task ${task.name} has not copied anything to this target`, {
    hint: `\`dts run ${task.file}\` copies it; \`dts status ${task.file}\` shows where it is`,
    exitCode: ExitCode.state,
  });
}

function consistencyOf(state: TaskState, live: boolean): Omit<Consistency, 'positions'> {
  if (live)
    return {
      mode: 'live',
      note: 'source and target read as of the same source position per database (sync held there meanwhile)',
    };
  if (state.phase === 'completed')
    return {
      mode: 'completed',
      note: 'the task is completed: the current states are compared (writes to the source after the cutover show as differences)',
    };
  return {
    mode: 'current',
    note:
      state.mode === 'full+incremental'
        ? `no runner is syncing (phase ${state.phase}): the current states are compared, and the target lacks what the source committed since sync stopped`
        : `the current states are compared (phase ${state.phase})`,
  };
}

async function run(task: Task, deps: VerifyDeps, keepHold: boolean): Promise<HeldVerify> {
  const started = Date.now();
  const parallel = Math.max(1, deps.parallel ?? task.options.parallel);
  const samplePercent = deps.samplePercent ?? 100;
  const c = await connectInstance(task.target, { side: 'target', ...prompt(deps) });
  let opened: OpenedSnapshots | undefined;
  try {
    const { state, holders } = await sql('target', 'reading the _dts state', async () => ({
      state: c.missingDatabase === undefined ? await readTaskState(c.client, task.name) : undefined,
      holders: await runnerLockHolders(c.client, task.name),
    }));
    if (!state || state.loads.length === 0) throw nothingToVerify(task);
    const live = state.mode === 'full+incremental' && state.phase === 'syncing' && holders.length > 0;
    const pairs = state.loads.map((l) => ({ source: l.sourceDatabase, target: l.targetDatabase }));

    const jobs = new Map<string, TableJob[]>();
    const schema: SchemaFinding[] = [];
    for (const p of pairs) {
      const found = await withBoth(task, p, deps, async (s, t) => {
        const list = await tableJobs(task, p.source, s, t, deps.tables);
        const names = new Set(list.map((j) => `${j.schema}.${j.name}`));
        const [ss, ts] = [
          await sql('source', 'reading the source schema', () => readSchemaSide(s.client)),
          await sql('target', 'reading the target schema', () => readSchemaSide(t.client)),
        ];
        return { list, findings: compareSchema(p.source, ss, ts, names, state.phase === 'completed') };
      });
      jobs.set(p.source, found.list);
      schema.push(...found.findings);
    }

    opened = live
      ? await openLive(task, c.client, pairs, parallel, deps)
      : await openCurrent(task, pairs, parallel, deps);
    if (!keepHold) await opened.release();

    const options: CompareOptions = {
      examples: deps.examples ?? 10,
      showRows: deps.showRows ?? false,
      samplePercent,
    };
    const tables: TableVerdict[] = [];
    for (const d of opened.databases) {
      const queue = [...(jobs.get(d.source) ?? [])].sort((a, b) => b.bytes - a.bytes);
      await Promise.all(
        d.workers.map(async (w) => {
          for (let job = queue.shift(); job; job = queue.shift()) {
            const verdict = await compareOne(w.source.client, w.target.client, job, options);
            tables.push(verdict);
            deps.onTable?.(verdict);
          }
        }),
      );
    }
    // Code point order: the same on every machine, whatever its locale.
    const order = (t: TableVerdict) => `${t.database}\0${t.schema}\0${t.name}`;
    tables.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    const sum = (f: (t: TableVerdict) => number) => tables.reduce((n, t) => n + f(t), 0);
    const different = tables.filter((t) => t.status === 'different').length;
    const report: VerifyReport = {
      task: task.name,
      ok: different === 0 && schema.length === 0,
      consistency: { ...consistencyOf(state, live), positions: opened.positions },
      databases: pairs,
      samplePercent,
      tables,
      schema,
      totals: {
        tables: tables.length,
        different,
        sourceRows: sum((t) => t.sourceRows),
        targetRows: sum((t) => t.targetRows),
        missing: sum((t) => t.missing),
        extra: sum((t) => t.extra),
        changed: sum((t) => t.changed),
        schemaFindings: schema.length,
        bytes: sum((t) => t.bytes),
      },
      durationMs: Date.now() - started,
    };
    const release = opened.release;
    const held = opened;
    opened = undefined;
    // The sessions are done; the hold (if kept) outlives them until the caller releases it.
    await Promise.all(
      held.databases.flatMap((d) => d.workers.flatMap((w) => [w.source.close(), w.target.close()])),
    );
    return {
      report,
      positions: held.positions,
      release: async () => {
        try {
          await release();
        } finally {
          await c.close();
        }
      },
    };
  } catch (e) {
    await opened?.close();
    await c.close();
    throw e;
  } finally {
    if (!keepHold) await c.close();
  }
}

async function compareOne(
  source: Queryable,
  target: Queryable,
  job: TableJob,
  options: CompareOptions,
): Promise<TableVerdict> {
  try {
    return await compareTable(source, target, job, options);
  } catch (e) {
    if (isDtsError(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new DtsError('verify-failed', `comparing ${job.schema}.${job.name} failed: ${message}`, {
      hint: 'the comparison runs inside one snapshot per side; run verify again, or leave the table out with --tables',
      exitCode: ExitCode.internal,
      cause: e,
    });
  }
}

async function withBoth<T>(
  task: Task,
  p: { readonly source: string; readonly target: string },
  deps: VerifyDeps,
  fn: (source: Connection, target: Connection) => Promise<T>,
): Promise<T> {
  const s = await connect(task.source, { side: 'source', database: p.source, ...prompt(deps) });
  try {
    const t = await connect(task.target, { side: 'target', database: p.target, ...prompt(deps) });
    try {
      return await fn(s, t);
    } finally {
      await t.close();
    }
  } finally {
    await s.close();
  }
}

interface KeyedTable {
  readonly columns: readonly string[];
  readonly key: readonly string[];
}

async function keyedTables(db: Queryable): Promise<Map<string, KeyedTable>> {
  const { rows } = await db.query(TABLES_WITH_KEYS);
  const out = new Map<string, KeyedTable>();
  for (const r of rows as { schema: string; name: string; columns: string[] | null; key: string[] | null }[])
    out.set(`${r.schema}\0${r.name}`, { columns: r.columns ?? [], key: r.key ?? [] });
  return out;
}

/**
 * The tables the copy stage copies in this database (the task's selection, leaf partitions and tables
 * holding rows), narrowed by `--tables`, with both sides' columns and the source's key.
 */
async function tableJobs(
  task: Task,
  database: string,
  source: Connection,
  target: Connection,
  only: readonly string[] | undefined,
): Promise<TableJob[]> {
  const { plan, sourceKeys } = await sql('source', `reading the tables of ${database}`, async () => {
    const facts = await readServerFacts(source.client);
    const { databases } = resolveDatabases(task.objects, [
      { name: database, allowConnections: true, isTemplate: false },
    ]);
    return {
      plan: planCopy({
        tables: await readSourceTables(source.client),
        patterns: databases[0]!,
        splitTableBytes: task.options.splitTableBytes,
        parallel: task.options.parallel,
        blockSize: facts.blockSize,
        sameEncoding: true,
      }),
      sourceKeys: await keyedTables(source.client),
    };
  });
  const targetKeys = await sql('target', `reading the tables of ${target.database}`, () =>
    keyedTables(target.client),
  );
  const wanted = (schema: string, name: string) =>
    !only?.length || only.some((g) => matchesGlob(g, `${schema}.${name}`) || matchesGlob(g, name));
  return plan.tables
    .filter((t) => wanted(t.schema, t.name))
    .map((t) => {
      const k = `${t.schema}\0${t.name}`;
      const s = sourceKeys.get(k);
      return {
        database,
        schema: t.schema,
        name: t.name,
        sourceColumns: s?.columns ?? t.columns,
        key: s?.key ?? [],
        targetColumns: targetKeys.get(k)?.columns,
        bytes: t.estimatedBytes,
        estimatedRows: t.estimatedRows,
      };
    });
}
