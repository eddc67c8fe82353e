import type { ChalkInstance } from 'chalk';
import { Listr } from 'listr2';
import { displayName, formatBytes } from '../../catalog/display.js';
import type { FullLoadEvent, FullLoadListener } from '../../copy/events.js';
import type { FullLoadReport } from '../../copy/report.js';
import type { Output } from '../output.js';

/** One table's progress, all of its ranges together. */
export interface TableProgress {
  readonly database: string;
  readonly table: string;
  parts: number;
  partsDone: number;
  /** Bytes of finished parts plus the running parts' latest counts. */
  bytes: number;
  rows: number;
  estimatedBytes: number;
  estimatedRows: number | undefined;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** Latest byte count of each running part. */
  readonly running: Map<number, number>;
}

/**
 * What the progress display knows, built from events only. Pure bookkeeping (the clock is passed in), so
 * the three renderers share it and it is unit-tested without a terminal.
 */
export class ProgressModel {
  readonly tables = new Map<string, TableProgress>();
  phase = '';
  database: string | undefined;
  copyStartedAt: number | undefined;

  apply(e: FullLoadEvent, now: number): void {
    const key = (database: string, table: string) => `${database}\0${table}`;
    switch (e.type) {
      case 'phase':
        this.phase = e.phase;
        this.database = e.database;
        if (e.phase === 'copy' && this.copyStartedAt === undefined) this.copyStartedAt = now;
        return;
      case 'plan':
        for (const t of e.tables)
          this.tables.set(key(e.database, t.table), {
            database: e.database,
            table: t.table,
            parts: t.parts,
            partsDone: 0,
            bytes: 0,
            rows: 0,
            estimatedBytes: t.estimatedBytes,
            estimatedRows: t.estimatedRows,
            startedAt: undefined,
            finishedAt: undefined,
            running: new Map(),
          });
        return;
      case 'unit-started': {
        const t = this.tables.get(key(e.database, e.table));
        if (!t) return;
        t.startedAt ??= now;
        t.running.set(e.part, 0);
        return;
      }
      case 'unit-progress': {
        const t = this.tables.get(key(e.database, e.table));
        if (!t) return;
        t.bytes += e.bytes - (t.running.get(e.part) ?? 0);
        t.running.set(e.part, e.bytes);
        return;
      }
      case 'unit-done': {
        const t = this.tables.get(key(e.database, e.table));
        if (!t) return;
        t.bytes += e.bytes - (t.running.get(e.part) ?? 0);
        t.running.delete(e.part);
        t.rows += e.rows;
        t.partsDone++;
        if (t.partsDone === t.parts) t.finishedAt = now;
        return;
      }
      default:
        return;
    }
  }

  /** Totals over every table; the estimate never falls below what is already copied. */
  overall(): { bytes: number; estimatedBytes: number; rows: number; tablesDone: number; tables: number } {
    let bytes = 0;
    let estimatedBytes = 0;
    let rows = 0;
    let tablesDone = 0;
    for (const t of this.tables.values()) {
      bytes += t.bytes;
      rows += t.rows;
      estimatedBytes += t.finishedAt !== undefined ? t.bytes : Math.max(t.estimatedBytes, t.bytes);
      if (t.finishedAt !== undefined) tablesDone++;
    }
    return { bytes, estimatedBytes, rows, tablesDone, tables: this.tables.size };
  }

  active(): TableProgress[] {
    return [...this.tables.values()].filter((t) => t.startedAt !== undefined && t.finishedAt === undefined);
  }
}

/** `12 MB/s`; nothing when too little time has passed to say. */
export function formatRate(bytes: number, ms: number): string {
  if (ms < 200) return '';
  return `${formatBytes((bytes * 1000) / ms)}/s`;
}

/** `1:05` or `1:02:03`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor(s / 60) % 60;
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/**
 * Time left at the rate so far. The estimate compares COPY bytes to on-disk table sizes (pg_class), so it
 * is rough; it is not shown before there is a rate to go on.
 */
export function eta(done: number, total: number, ms: number): string {
  if (done <= 0 || ms < 1000 || total <= done) return '';
  return `ETA ${formatDuration(((total - done) * ms) / done)}`;
}

const rowsText = (n: number) => `${n.toLocaleString('en-US')} rows`;

/** A line for one table: done, or running with bytes, rate and ETA. */
export function tableLine(t: TableProgress, now: number, color: ChalkInstance): string {
  const parts = t.parts > 1 ? ` [${t.partsDone}/${t.parts} ranges]` : '';
  if (t.finishedAt !== undefined) {
    const ms = t.finishedAt - (t.startedAt ?? t.finishedAt);
    const rate = formatRate(t.bytes, ms);
    return `${color.green('✔')} ${t.table}: ${rowsText(t.rows)}, ${formatBytes(t.bytes)} in ${formatDuration(ms)}${rate ? ` (${rate})` : ''}${parts}`;
  }
  const ms = now - (t.startedAt ?? now);
  const pieces = [
    `${formatBytes(t.bytes)} of ~${formatBytes(Math.max(t.estimatedBytes, t.bytes))}`,
    t.rows > 0 ? rowsText(t.rows) : '',
    formatRate(t.bytes, ms),
    eta(t.bytes, t.estimatedBytes, ms),
  ].filter(Boolean);
  return `${color.cyan('…')} ${t.table}: ${pieces.join(', ')}${parts}`;
}

/** The overall line: tables done, bytes, rate, ETA. */
export function overallLine(model: ProgressModel, now: number): string {
  const o = model.overall();
  const ms = now - (model.copyStartedAt ?? now);
  const pieces = [
    `${o.tablesDone}/${o.tables} tables`,
    `${formatBytes(o.bytes)} of ~${formatBytes(o.estimatedBytes)}`,
    rowsText(o.rows),
    formatRate(o.bytes, ms),
    eta(o.bytes, o.estimatedBytes, ms),
  ].filter(Boolean);
  return pieces.join(', ');
}

/** The line a non-table event prints off a terminal, or undefined for none. */
export function eventLine(
  e: FullLoadEvent,
  model: ProgressModel,
  now: number,
  color: ChalkInstance,
): string | undefined {
  switch (e.type) {
    case 'phase':
      return e.phase === 'done'
        ? `${color.bold('done')}: ${overallLine(model, now)}`
        : `${color.bold(e.phase)}${e.database !== undefined ? ` (${e.database})` : ''}`;
    case 'snapshot':
      return `snapshot ${e.snapshotName} of ${e.database} at ${e.consistentPoint} (slot ${e.slot})`;
    case 'plan':
      return `${e.tables.length} tables to copy from ${e.database}, ~${formatBytes(e.tables.reduce((n, t) => n + t.estimatedBytes, 0))}`;
    case 'step':
      return e.text;
    case 'table-post-data':
      return `keys and indexes of ${e.table}: ${e.failed > 0 ? color.red(`${e.failed} failed, rolled back`) : `${e.built} built`}${e.already > 0 ? `, ${e.already} already there` : ''} (${(e.ms / 1000).toFixed(1)}s)`;
    default:
      return undefined;
  }
}

export interface ProgressRenderer {
  readonly onEvent: FullLoadListener;
  /** Stop drawing (call when runFullLoad settles, either way). */
  finish(): Promise<void>;
}

export interface ProgressRendererOptions {
  /** Where JSON lines go under --json (stderr keeps stdout for the one result document). */
  readonly jsonLines?: (line: string) => void;
  /** Plain mode: an overall line at most this often while copying. */
  readonly plainEveryMs?: number;
  readonly now?: () => number;
}

/**
 * The full-load progress display: listr2 on a terminal (a line per running table under an overall
 * title), plain lines off one (phases, each finished table, an overall line now and then), JSON lines of
 * the events themselves with --json. Colour follows the Output (NO_COLOR, FORCE_COLOR).
 */
export function createProgressRenderer(out: Output, opts: ProgressRendererOptions = {}): ProgressRenderer {
  const now = opts.now ?? Date.now;
  const model = new ProgressModel();
  if (out.json) {
    const write = opts.jsonLines ?? ((line: string) => process.stderr.write(line + '\n'));
    return {
      onEvent: (e) => write(JSON.stringify({ at: new Date(now()).toISOString(), ...e })),
      finish: async () => undefined,
    };
  }
  if (!out.isTTY) return plainRenderer(out, model, now, opts.plainEveryMs ?? 10_000);
  return listrRenderer(out, model, now);
}

function plainRenderer(
  out: Output,
  model: ProgressModel,
  now: () => number,
  everyMs: number,
): ProgressRenderer {
  let lastOverall = now();
  return {
    onEvent(e) {
      const t = now();
      model.apply(e, t);
      if (e.type === 'unit-done') {
        const table = model.tables.get(`${e.database}\0${e.table}`);
        if (table?.finishedAt !== undefined) out.note(tableLine(table, t, out.color));
      } else {
        const line = eventLine(e, model, t, out.color);
        if (line !== undefined) out.note(line);
      }
      if (model.phase === 'copy' && t - lastOverall >= everyMs) {
        lastOverall = t;
        out.note(`copy: ${overallLine(model, t)}`);
      }
    },
    finish: async () => undefined,
  };
}

function listrRenderer(out: Output, model: ProgressModel, now: () => number): ProgressRenderer {
  let update: (() => void) | undefined;
  let close: (() => void) | undefined;
  const closed = new Promise<void>((resolve) => (close = resolve));
  const list = new Listr(
    [
      {
        title: 'full load',
        task: (_ctx, task) =>
          new Promise<void>((resolve) => {
            // Running tables go in the title, which is redrawn whole; listr2's output bar keeps history.
            update = () => {
              const t = now();
              const head = `${model.phase || 'starting'}${model.database ? ` ${model.database}` : ''}: ${overallLine(model, t)}`;
              const running = model.active().map((table) => `  ${tableLine(table, t, out.color)}`);
              task.title = [head, ...running].join('\n');
            };
            void closed.then(resolve);
          }),
      },
    ],
    { exitOnError: false, registerSignalListeners: false },
  );
  const running = list.run().catch(() => undefined);
  let last = 0;
  return {
    onEvent(e) {
      const t = now();
      model.apply(e, t);
      // Redraw on everything but byte counts, which come often: those at most 5 times a second.
      if (e.type !== 'unit-progress' || t - last >= 200) {
        last = t;
        update?.();
      }
    },
    async finish() {
      update?.();
      close?.();
      await running;
      out.note(overallLine(model, now()));
    },
  };
}

/**
 * The outcome of a full load, for people: one line per database (rows, bytes, time, the snapshot's LSN),
 * what was set besides tables, warnings, and the text-format tables with their reason. The schema
 * stages' own reports (`renderSchemaReport`) are printed before this one.
 */
export function renderFullLoadReport(report: FullLoadReport, c: ChalkInstance): string {
  const lines: string[] = [];
  for (const d of report.databases) {
    const copy = report.timings.find((t) => t.phase === 'copy' && t.database === d.source)?.ms ?? 0;
    const rate = formatRate(d.bytes, copy);
    lines.push(
      `${c.green('copied')} ${displayName(d.source)} -> ${displayName(d.target)}: ${d.tables.length} tables, ` +
        `${rowsText(d.rows)}, ${formatBytes(d.bytes)} in ${formatDuration(copy)}${rate ? ` (${rate})` : ''}`,
    );
    lines.push(
      `  snapshot at ${d.consistentPoint} (${d.temporarySlot ? 'temporary ' : ''}slot ${d.slot}, ${d.snapshotAt})`,
    );
    const extras = [
      `${d.sequences} sequences set`,
      d.largeObjects.count
        ? `${d.largeObjects.count} large objects (${formatBytes(d.largeObjects.bytes)})`
        : '',
      d.refreshed.length ? `refreshed ${d.refreshed.join(', ')}` : '',
    ].filter(Boolean);
    lines.push(`  ${extras.join('; ')}`);
    const text = d.tables.filter((t) => t.format === 'text');
    if (text.length)
      lines.push(
        `  ${text.length} tables copied as text: ${text
          .slice(0, 5)
          .map((t) => `${displayName(t.schema, t.name)} (${t.formatReason})`)
          .join(', ')}${text.length > 5 ? ', ...' : ''}`,
      );
    for (const w of d.warnings) lines.push(`  ${c.yellow('warning')} ${w}`);
  }
  const seconds = (report.durationMs / 1000).toFixed(1);
  lines.push(
    report.ok
      ? `full load of ${displayName(report.task)} done in ${seconds}s`
      : report.postData === undefined
        ? `full load of ${displayName(report.task)} NOT started: the schema (pre-data) failed, see above`
        : `full load of ${displayName(report.task)}: data copied, but post-data failed (${seconds}s): see above`,
  );
  return lines.join('\n');
}
