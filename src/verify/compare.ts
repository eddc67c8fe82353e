import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { bucketSql, rowsSql, type HashedTable } from './sql.js';
import type { RowDifference, TableVerdict } from './types.js';

export type Queryable = Pick<pg.ClientBase, 'query'>;

/** One table to compare, as both catalogs describe it. */
export interface TableJob {
  readonly database: string;
  readonly schema: string;
  readonly name: string;
  /** The source's columns in order, and its key (empty: none). */
  readonly sourceColumns: readonly string[];
  readonly key: readonly string[];
  /** The target's columns; undefined when the table is missing there. */
  readonly targetColumns: readonly string[] | undefined;
  readonly bytes: number;
  readonly estimatedRows: number | undefined;
}

export interface CompareOptions {
  /** Most row differences listed per table (all are counted). */
  readonly examples: number;
  readonly showRows: boolean;
  /** Percent of buckets compared, 100 for all. */
  readonly samplePercent: number;
}

/** Rows per bucket aimed at: a differing bucket is listed row by row, so this bounds that listing. */
const ROWS_PER_BUCKET = 1000;
const MAX_DIGITS = 5;
const FETCH = 1000;

/** Hex digits of the row hash that name a bucket: about ROWS_PER_BUCKET rows each, 16 to 16^5 buckets. */
export function bucketDigits(estimatedRows: number): number {
  let digits = 1;
  while (digits < MAX_DIGITS && 16 ** digits * ROWS_PER_BUCKET < estimatedRows) digits++;
  return digits;
}

/**
 * The bucket names before which buckets are compared under sampling (deterministic: the same buckets on
 * every run and both servers), or undefined for all of them.
 */
export function sampleLimit(digits: number, percent: number): string | undefined {
  const total = 16 ** digits;
  const keep = Math.max(1, Math.ceil((total * percent) / 100));
  if (keep >= total) return undefined;
  return keep.toString(16).padStart(digits, '0');
}

interface Bucket {
  readonly n: number;
  readonly a: string;
}

let cursors = 0;

/**
 * Compare one table of a source and a target session that are each inside their snapshot. Both servers
 * aggregate their rows per bucket (by row hash); the rows of the buckets that differ are listed (key hash
 * order, two cursors merged), which names every missing, extra and changed row while dts holds at most a fetch of each side.
 */
export async function compareTable(
  source: Queryable,
  target: Queryable,
  job: TableJob,
  opts: CompareOptions,
): Promise<TableVerdict> {
  const started = Date.now();
  const notes: string[] = [];
  const base = {
    database: job.database,
    schema: job.schema,
    name: job.name,
    bytes: job.bytes,
  };
  const targetSet = new Set(job.targetColumns ?? []);
  const columns = job.sourceColumns.filter((c) => targetSet.has(c));
  if (job.targetColumns === undefined) {
    const rows = await countRows(source, job);
    return {
      ...base,
      status: 'different',
      key: job.key,
      sourceRows: rows,
      targetRows: 0,
      buckets: 0,
      bucketsCompared: 0,
      bucketsDifferent: 0,
      missing: rows,
      extra: 0,
      changed: 0,
      examples: [],
      notes: ['the table is missing on the target'],
      ms: Date.now() - started,
    };
  }
  const leftOut = [
    ...job.sourceColumns.filter((c) => !targetSet.has(c)).map((c) => `${c} (missing on the target)`),
    ...job.targetColumns.filter((c) => !job.sourceColumns.includes(c)).map((c) => `${c} (target only)`),
  ];
  if (leftOut.length) notes.push(`columns not compared: ${leftOut.join(', ')}`);
  const key = job.key.every((k) => targetSet.has(k)) ? job.key : [];
  const table: HashedTable = { schema: job.schema, name: job.name, columns, key };

  const digits = bucketDigits(job.estimatedRows ?? job.bytes / 100);
  const limit = sampleLimit(digits, opts.samplePercent);
  const bucketQuery = bucketSql(table, digits, limit !== undefined);
  const params = limit === undefined ? [] : [limit];
  const [s, t] = await Promise.all([
    buckets(source, bucketQuery, params),
    buckets(target, bucketQuery, params),
  ]);
  const different: string[] = [];
  for (const name of new Set([...s.keys(), ...t.keys()])) {
    const x = s.get(name);
    const y = t.get(name);
    if (!x || !y || x.n !== y.n || x.a !== y.a) different.push(name);
  }
  different.sort();
  const sum = (m: Map<string, Bucket>) => [...m.values()].reduce((n, b) => n + b.n, 0);
  const counts = { missing: 0, extra: 0, changed: 0 };
  const examples: RowDifference[] = [];
  if (different.length)
    await listDifferences(source, target, table, digits, different, opts, (d) => {
      counts[d.kind]++;
      if (examples.length < opts.examples) examples.push(d);
    });
  const total = 16 ** digits;
  const compared = limit === undefined ? total : parseInt(limit, 16);
  const status = different.length || leftOut.length ? 'different' : 'ok';
  return {
    ...base,
    status,
    key,
    sourceRows: sum(s),
    targetRows: sum(t),
    buckets: total,
    bucketsCompared: compared,
    bucketsDifferent: different.length,
    ...counts,
    examples,
    notes,
    ms: Date.now() - started,
  };
}

async function countRows(db: Queryable, job: TableJob): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::text AS n FROM ONLY ${quoteIdent(job.schema)}.${quoteIdent(job.name)}`,
  );
  return Number((rows[0] as { n: string }).n);
}

async function buckets(db: Queryable, query: string, params: unknown[]): Promise<Map<string, Bucket>> {
  const { rows } = await db.query(query, params);
  const out = new Map<string, Bucket>();
  for (const r of rows as { bucket: string; n: string; a: string }[])
    out.set(String(r.bucket), { n: Number(r.n), a: String(r.a) });
  return out;
}

interface ListedRow {
  readonly kh: string;
  readonly rh: string;
  readonly row?: string;
  readonly [k: `k${number}`]: string | null;
}

/** The rows of a bucket list on one side, in key hash order, a fetch at a time. */
async function* listed(db: Queryable, query: string): AsyncGenerator<ListedRow> {
  const cursor = quoteIdent(`dts_verify_${++cursors}`);
  await db.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${query}`);
  try {
    for (;;) {
      const { rows } = await db.query(`FETCH ${FETCH} FROM ${cursor}`);
      if (rows.length === 0) return;
      yield* rows as ListedRow[];
    }
  } finally {
    await db.query(`CLOSE ${cursor}`);
  }
}

/**
 * Merge both sides' rows of the differing buckets by key hash. Within one key hash, rows are matched by
 * row hash (a multiset difference); in a keyed table one unmatched row on each side is one changed row.
 */
async function listDifferences(
  source: Queryable,
  target: Queryable,
  table: HashedTable,
  digits: number,
  bucketNames: readonly string[],
  opts: CompareOptions,
  emit: (d: RowDifference) => void,
): Promise<void> {
  const array = `ARRAY[${bucketNames.map(quoteLiteral).join(', ')}]`;
  const query = rowsSql(table, digits, opts.showRows).replace('$1::text[]', `${array}::text[]`);
  const s = listed(source, query);
  const t = listed(target, query);
  const keyOf = (r: ListedRow) =>
    table.key.length
      ? Object.fromEntries(table.key.map((k, i) => [k, r[`k${i}`] ?? null] as const))
      : undefined;
  const rows = (r: ListedRow, side: 'sourceRow' | 'targetRow') =>
    opts.showRows && r.row !== undefined ? { [side]: String(r.row) } : {};
  let a = (await s.next()).value as ListedRow | undefined;
  let b = (await t.next()).value as ListedRow | undefined;
  while (a || b) {
    const kh = !b || (a && a.kh < b.kh) ? a!.kh : b.kh;
    const sg: ListedRow[] = [];
    const tg: ListedRow[] = [];
    while (a && a.kh === kh) {
      sg.push(a);
      a = (await s.next()).value as ListedRow | undefined;
    }
    while (b && b.kh === kh) {
      tg.push(b);
      b = (await t.next()).value as ListedRow | undefined;
    }
    // Both groups are in row hash order: drop the pairs that match.
    const onlyS: ListedRow[] = [];
    const onlyT: ListedRow[] = [];
    let i = 0;
    let j = 0;
    while (i < sg.length || j < tg.length) {
      const x = sg[i];
      const y = tg[j];
      if (x && y && x.rh === y.rh) {
        i++;
        j++;
      } else if (x && (!y || x.rh < y.rh)) {
        onlyS.push(x);
        i++;
      } else {
        onlyT.push(y!);
        j++;
      }
    }
    if (table.key.length && onlyS.length === 1 && onlyT.length === 1) {
      const [x, y] = [onlyS[0]!, onlyT[0]!];
      emit({
        kind: 'changed',
        key: keyOf(x),
        rowHash: x.rh,
        ...rows(x, 'sourceRow'),
        ...rows(y, 'targetRow'),
      });
      continue;
    }
    for (const x of onlyS) emit({ kind: 'missing', key: keyOf(x), rowHash: x.rh, ...rows(x, 'sourceRow') });
    for (const y of onlyT) emit({ kind: 'extra', key: keyOf(y), rowHash: y.rh, ...rows(y, 'targetRow') });
  }
}
