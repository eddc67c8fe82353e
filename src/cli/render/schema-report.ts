import type { ChalkInstance } from 'chalk';
import { displayName } from '../../catalog/display.js';
import type { SchemaPlanReport, SchemaReport } from '../../schema/report.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The outcome of the schema stage, for people: a summary per database, then every failure in full. */
export function renderSchemaReport(report: SchemaReport, c: ChalkInstance): string {
  const lines: string[] = [];
  for (const d of report.databases) {
    const where = `${displayName(d.source)} -> ${displayName(d.target)}`;
    if (d.committed) {
      const pre = d.created.filter((o) => o.phase === 'pre-data').length;
      const post = d.created.length - pre;
      lines.push(
        `${c.green('created')} ${where}: ${plural(d.created.length, 'object')} (${pre} pre-data, ${post} post-data)`,
      );
    } else {
      lines.push(
        `${c.red('failed')} ${where}: ${plural(d.failed.length, 'object')} failed; rolled back, nothing was created` +
          ` (${d.rolledBack.length} had succeeded, ${d.notAttempted.length} not attempted)`,
      );
    }
    for (const f of d.failed) {
      lines.push(
        `  ${c.red('x')} ${f.kind} ${f.name}: ${f.message}${f.sqlstate ? ` (SQLSTATE ${f.sqlstate})` : ''}`,
      );
      if (f.detail) lines.push(`      detail: ${f.detail}`);
      if (f.hint) lines.push(`      hint: ${f.hint}`);
      lines.push(`      statement: ${f.statement.split('\n')[0]}${f.statement.includes('\n') ? ' ...' : ''}`);
    }
    for (const n of d.notAttempted)
      lines.push(`  ${c.dim('-')} ${n.kind} ${n.name}: not attempted, ${n.reason}`);
    for (const s of d.skipped) lines.push(`  ${c.yellow('skipped')} ${s.kind} ${s.name}: ${s.reason}`);
    for (const w of d.warnings) lines.push(`  ${c.yellow('warning')} ${w}`);
  }
  const seconds = (report.durationMs / 1000).toFixed(1);
  lines.push(
    report.ok
      ? `schema of ${displayName(report.task)} migrated in ${seconds}s`
      : `schema of ${displayName(report.task)} NOT migrated (${seconds}s): see the failures above`,
  );
  return lines.join('\n');
}

/** `run --dry-run`: the DDL, as a script one could read or run with psql. */
export function renderSchemaPlan(plan: SchemaPlanReport): string {
  const lines: string[] = [`-- dts plan for task ${plan.task} (dry run: nothing was changed)`];
  if (plan.roles.length)
    lines.push(`-- roles the schema refers to (not checked against the target): ${plan.roles.join(', ')}`);
  for (const d of plan.databases) {
    lines.push('', `-- database ${d.source} -> ${d.target}`);
    if (d.createDatabase) lines.push(`${d.createDatabase};`);
    for (const w of d.warnings) lines.push(`-- warning: ${w}`);
    for (const s of d.skipped) lines.push(`-- skipped ${s.kind} ${s.name}: ${s.reason}`);
    let phase = '';
    for (const o of d.objects) {
      if (o.phase !== phase) {
        phase = o.phase;
        lines.push('', `-- ${phase}`);
      }
      lines.push(`-- ${o.kind} ${o.name}`);
      for (const s of o.statements) lines.push(`${s};`);
    }
  }
  return lines.join('\n');
}
