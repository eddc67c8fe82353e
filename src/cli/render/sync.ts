import type { ChalkInstance } from 'chalk';
import { displayName } from '../../catalog/display.js';
import type { LagWait } from '../../cutover/complete.js';
import type { CutoverReport } from '../../cutover/sync.js';
import type { SyncProgress } from '../../replication/index.js';
import { formatDuration } from './progress.js';
import { describeTargetWrites } from '../../state/target-writes.js';

const count = (n: number) => n.toLocaleString('en-US');

/** One line of sync progress: each database's applied position and transactions so far (this run). */
export function syncLine(task: string, progress: readonly SyncProgress[]): string {
  if (progress.length === 0) return `${task}: syncing: connecting`;
  const parts = progress.map((p) => {
    const at = p.state === 'reconnecting' ? `reconnecting (${p.error ?? 'connection lost'})` : p.appliedLsn;
    return `${displayName(p.database)} applied ${at}, ${count(p.transactions)} transactions, ${count(p.changes)} changes`;
  });
  return `${task}: syncing: ${parts.join('; ')}`;
}

/** What `dts complete` (and the runner, at its end) prints. */
export function renderCutoverReport(r: CutoverReport, c: ChalkInstance): string {
  const lines = [
    `${c.green('completed')} task ${r.task}: ${count(r.transactions)} transactions applied by incremental sync, end LSN ${r.endLsn}, cutover took ${formatDuration(r.durationMs)}`,
  ];
  for (const d of r.databases)
    lines.push(
      `  ${displayName(d.source)} -> ${displayName(d.target)}: applied up to ${d.appliedLsn}, ${count(d.sequences)} sequences set, ${count(d.refreshed.length)} materialized views refreshed`,
    );
  if (r.droppedSlots.length > 0 || r.droppedPublications.length > 0)
    lines.push(
      `  dropped on the source: ${[...r.droppedSlots.map((s) => `slot ${s}`), ...r.droppedPublications.map((p) => `publication ${p}`)].join(', ')}`,
    );
  if (r.targetWrites.length > 0) {
    lines.push(
      `  ${c.yellow('warning')}: the target was written by others while dts synced; it may differ from the source (\`dts verify\` shows where):`,
    );
    for (const w of describeTargetWrites(r.targetWrites)) lines.push(`    ${w}`);
  }
  return lines.join('\n');
}

const seconds = (n: number | undefined) => (n === undefined ? 'unknown' : `${n.toFixed(1)} s`);

/** `dts complete --wait-for-lag`'s line: each database's lag against the wanted one, and the time left. */
export function lagWaitLine(w: LagWait): string {
  const lags = w.databases.map((d) => `${displayName(d.database)} ${seconds(d.lagSeconds)}`).join(', ');
  const state =
    w.worst !== undefined && w.worst <= w.wantSeconds
      ? 'lag is at most'
      : 'waiting for the lag to come down to';
  return `${state} ${w.wantSeconds} s: ${lags || 'no figures yet'} (gives up in ${Math.ceil(w.leftMs / 1000)} s)`;
}
