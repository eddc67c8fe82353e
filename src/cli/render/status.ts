import type { ChalkInstance } from 'chalk';
import { displayName, formatBytes } from '../../catalog/display.js';
import type { CancelReport } from '../../state/cancel.js';
import { describeTargetWrites } from '../../state/target-writes.js';
import type { StatusSnapshot, SyncStatus, TaskCondition } from '../../state/status.js';

const duration = (ms: number): string => {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
};

const count = (n: number) => n.toLocaleString('en-US');

function conditionColor(c: TaskCondition, color: ChalkInstance): (s: string) => string {
  return {
    running: color.cyan,
    interrupted: color.yellow,
    done: color.green,
    failed: color.red,
    cancelled: color.yellow,
  }[c];
}

/** `dts status` for people: the task's condition, its runner, then each database and its unfinished tables. */
export function renderStatus(s: StatusSnapshot, color: ChalkInstance): string {
  const lines = [`task ${s.task} (mode ${s.mode}): ${conditionColor(s.condition, color)(s.summary)}`];
  lines.push(
    s.runner.alive
      ? `  runner: alive${s.runner.pid !== undefined ? `, pid ${s.runner.pid} on host ${s.runner.host} since ${s.runner.since}` : ''}`
      : `  runner: none${s.runner.pid !== undefined ? ` (last: pid ${s.runner.pid} on host ${s.runner.host}, started ${s.runner.since})` : ''}`,
  );
  if (s.lastError) {
    const code = s.lastError.sqlstate ? ` (SQLSTATE ${s.lastError.sqlstate})` : '';
    lines.push(color.red(`  stopped by an error at ${s.lastError.at}: ${s.lastError.message}${code}`));
    if (s.lastError.hint) lines.push(`  hint: ${s.lastError.hint}`);
  }
  if (s.cancelRequestedAt && s.condition === 'running')
    lines.push(`  cancel requested at ${s.cancelRequestedAt}`);
  if (s.source && !s.source.reachable)
    lines.push(
      color.yellow(
        `  source not reachable (${s.source.error ?? 'unknown error'}): lag in bytes and retained WAL unknown`,
      ),
    );
  for (const d of s.databases) {
    const into = d.target === d.source ? '' : ` -> ${displayName(d.target)}`;
    lines.push(`  ${displayName(d.source)}${into}: ${d.phase}`);
    if (d.consistentPoint) lines.push(`    snapshot ${d.consistentPoint} at ${d.snapshotAt}`);
    if (d.tablesTotal > 0)
      lines.push(
        `    tables ${d.tablesDone}/${d.tablesTotal} done, ${count(d.rows)} rows, ${formatBytes(d.bytes)}` +
          (d.elapsedMs !== undefined ? `, ${duration(d.elapsedMs)}` : ''),
      );
    for (const t of d.unfinished) {
      const state = t.partsRunning > 0 ? 'copying' : t.partsDone > 0 ? 'partly copied' : 'waiting';
      const parts = t.parts > 1 ? ` (${t.partsDone}/${t.parts} parts)` : '';
      lines.push(`    ${color.dim('·')} ${t.table}: ${state}${parts}`);
    }
    if (d.sync) lines.push(...renderSync(d.sync, s.runner.alive, color));
  }
  if (s.targetWrites?.length) {
    lines.push(
      color.yellow(
        '  warning: the target was written by others while dts syncs; stop those writers until `dts complete` (`dts verify` shows the differences):',
      ),
    );
    for (const w of describeTargetWrites(s.targetWrites)) lines.push(color.yellow(`    ${w}`));
  }
  lines.push(color.dim(`  as of ${s.at}`));
  return lines.join('\n');
}

const rate = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** The lag of one database, e.g. `lag 0 bytes, 0.0 s (caught up)`; unknown parts say so. */
export function lagText(x: SyncStatus): string {
  const bytes = x.lagBytes === undefined ? 'unknown bytes' : formatBytes(x.lagBytes);
  const seconds = x.lagSeconds === undefined ? 'unknown s' : `${rate(x.lagSeconds)} s`;
  return `lag ${bytes}, ${seconds}${x.caughtUp ? ' (caught up)' : ''}`;
}

/** Incremental sync's lines of one database in `dts status`. */
export function renderSync(x: SyncStatus, runnerAlive: boolean, color: ChalkInstance): string[] {
  const applied = x.appliedLsn
    ? `applied ${x.appliedLsn}${x.appliedCommitTime ? ` (source commit ${x.appliedCommitTime})` : ''}`
    : 'nothing applied yet';
  const received = x.receivedLsn ? `, received ${x.receivedLsn}` : '';
  const lines = [`    sync ${x.state}: ${applied}${received}`];
  const lag = x.caughtUp ? color.green(lagText(x)) : lagText(x);
  lines.push(
    `    ${lag}; applying ${rate(x.transactionsPerSecond)} tx/s, ${rate(x.rowsPerSecond)} rows/s; ` +
      `${count(x.transactions)} transactions, ${count(x.changes)} rows this run`,
  );
  if (x.walRetainedBytes !== undefined)
    lines.push(`    WAL retained on the source by the slot: ${formatBytes(x.walRetainedBytes)}`);
  if (x.reconnects > 0 || x.lastError) {
    const error = x.lastError
      ? x.state === 'reconnecting'
        ? `; ${x.lastError} — retrying`
        : `; last error at ${x.lastErrorAt}: ${x.lastError}`
      : '';
    lines.push(color.yellow(`    reconnects: ${x.reconnects}${error}`));
  }
  if (!runnerAlive)
    lines.push(
      color.yellow(
        `    figures from ${duration(x.figuresAgeMs)} ago (at ${x.figuresAt}); the runner is not running`,
      ),
    );
  return lines;
}

/** `dts cancel` for people: what was stopped and dropped, and what was left. */
export function renderCancel(r: CancelReport, color: ChalkInstance): string {
  const lines = [
    `task ${r.task}: ${color.yellow('cancelled')}${r.stoppedRunner ? ' (the runner stopped)' : ''}`,
  ];
  for (const s of r.droppedSlots) lines.push(`  dropped replication slot ${s} on the source`);
  for (const p of r.droppedPublications) lines.push(`  dropped publication ${p} on the source`);
  for (const d of r.droppedDatabases) lines.push(`  dropped database ${displayName(d)} on the target`);
  for (const l of r.left) lines.push(`  left: ${l}`);
  return lines.join('\n');
}
