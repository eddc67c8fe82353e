import { displayName, formatBytes } from '../../catalog/display.js';
import type { CopyPlanReport, PlannedTableCopy } from '../../copy/dry-run.js';

const rangeText = (r: { from: number | undefined; to: number | undefined }) =>
  `${r.from ?? 0}-${r.to === undefined ? 'end' : r.to}`;

function tableText(t: PlannedTableCopy): string {
  const rows =
    t.estimatedRows === undefined
      ? 'rows unknown (never analyzed)'
      : `~${t.estimatedRows.toLocaleString('en-US')} rows`;
  const pieces =
    t.parts > 1
      ? `${t.parts} ctid block ranges (${t.ranges.length > 4 ? `${t.ranges.slice(0, 3).map(rangeText).join(', ')}, ... ${rangeText(t.ranges.at(-1)!)}` : t.ranges.map(rangeText).join(', ')})`
      : 'whole';
  const format = t.format === 'binary' ? 'binary' : `text: ${t.formatReason ?? 'no binary I/O'}`;
  const after = t.keysAndIndexes > 0 ? `; then ${t.keysAndIndexes} key(s)/index(es)` : '';
  return `${t.order}. ${displayName(t.schema, t.name)}: ${rows}, ${formatBytes(t.estimatedBytes)}, ${pieces}, ${format}${after}`;
}

/** The copy plan of `run --dry-run`, as SQL comments after the DDL plan (the output stays a script). */
export function renderCopyPlan(plan: CopyPlanReport): string {
  const lines: string[] = [];
  for (const d of plan.databases) {
    lines.push(
      '',
      `-- copy plan ${d.source} -> ${d.target}: ${d.tables.length} table(s) on ${plan.parallel} worker(s), largest first; tables over ${formatBytes(d.splitBytes)}${d.splitAutomatic ? " (automatic: one worker's share of the data)" : ''} split into ctid block ranges`,
    );
    for (const t of d.tables) lines.push(`--   ${tableText(t)}`);
    lines.push(
      `-- binary COPY where every column allows it, assuming the target's encoding is the source's (${d.encoding}); the target was not contacted`,
    );
  }
  return lines.join('\n');
}
