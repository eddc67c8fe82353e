import type { ChalkInstance } from 'chalk';
import { displayName } from '../../catalog/display.js';
import type { RowDifference, TableVerdict, VerifyReport } from '../../verify/types.js';

const n = (v: number) => v.toLocaleString('en-US');

function keyText(d: RowDifference): string {
  if (!d.key) return `row ${d.rowHash}`;
  const entries = Object.entries(d.key);
  return entries.map(([k, v]) => `${displayName(k)}=${v === null ? 'NULL' : v}`).join(', ');
}

/** One line for a table, and one per listed difference below it. */
export function renderTableVerdict(t: TableVerdict, color: ChalkInstance): string {
  const name = displayName(t.schema, t.name);
  const rows =
    t.sourceRows === t.targetRows
      ? `${n(t.sourceRows)} rows`
      : `${n(t.sourceRows)} rows on the source, ${n(t.targetRows)} on the target`;
  if (t.status === 'ok') return `${color.green('OK       ')} ${name} (${rows})`;
  const counts = [
    t.missing ? `${n(t.missing)} missing on the target` : '',
    t.extra ? `${n(t.extra)} extra on the target` : '',
    t.changed ? `${n(t.changed)} changed` : '',
  ].filter(Boolean);
  const lines = [
    `${color.red('DIFFERENT')} ${name} (${rows}${counts.length ? `; ${counts.join(', ')}` : ''})`,
  ];
  for (const note of t.notes) lines.push(`          ${note}`);
  for (const d of t.examples) {
    lines.push(`          ${d.kind.padEnd(7)} ${keyText(d)}`);
    if (d.sourceRow !== undefined) lines.push(`            source: ${d.sourceRow}`);
    if (d.targetRow !== undefined) lines.push(`            target: ${d.targetRow}`);
  }
  const listed = t.missing + t.extra + t.changed;
  if (listed > t.examples.length) lines.push(`          ... ${n(listed - t.examples.length)} more`);
  return lines.join('\n');
}

/** The whole report for people: consistency, tables, schema findings, totals. */
export function renderVerifyReport(r: VerifyReport, color: ChalkInstance): string {
  const lines: string[] = [];
  const at = Object.entries(r.consistency.positions)
    .map(([d, l]) => `${displayName(d)} at ${l}`)
    .join(', ');
  lines.push(`verify of task ${r.task}: ${r.consistency.note}${at ? ` (${at})` : ''}`);
  if (r.samplePercent < 100) lines.push(`sampled: about ${r.samplePercent}% of each table's rows compared`);
  const many = r.databases.length > 1;
  for (const t of r.tables) {
    const text = renderTableVerdict(t, color);
    lines.push(many ? `[${displayName(t.database)}] ${text}` : text);
  }
  if (r.schema.length) {
    lines.push('', color.red('schema differences:'));
    for (const f of r.schema)
      lines.push(`  ${many ? `[${displayName(f.database)}] ` : ''}${f.object}: ${f.problem}`);
  }
  const t = r.totals;
  lines.push(
    '',
    `${r.ok ? color.green('EQUAL') : color.red('DIFFERENT')}: ${n(t.tables)} table(s), ${n(t.different)} different; ` +
      `${n(t.sourceRows)} rows on the source, ${n(t.targetRows)} on the target; ` +
      `${n(t.missing)} missing, ${n(t.extra)} extra, ${n(t.changed)} changed; ` +
      `${n(t.schemaFindings)} schema difference(s); ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  return lines.join('\n');
}
