import type { ChalkInstance } from 'chalk';
import type { Report, Severity } from '../../checks/report.js';

const LABEL: Record<Severity, string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  info: 'INFO',
  error: 'N/A ',
};

function paint(color: ChalkInstance, severity: Severity, text: string): string {
  switch (severity) {
    case 'pass':
      return color.green(text);
    case 'warn':
      return color.yellow(text);
    case 'fail':
      return color.red.bold(text);
    case 'error':
      return color.magenta(text);
    case 'info':
      return color.cyan(text);
  }
}

/**
 * The validate report for people: one line per finding, its fix indented below, a summary last.
 * Passing checks with a single finding stay on one line so problems stand out.
 */
export function renderReport(report: Report, color: ChalkInstance): string {
  const lines: string[] = [color.bold(`${report.task} (${report.mode})`)];
  const idWidth = Math.max(...report.results.map((r) => r.id.length), 10);
  for (const result of report.results) {
    for (const f of result.findings) {
      const object = f.object ? `${f.object}: ` : '';
      lines.push(
        `  ${paint(color, f.severity, LABEL[f.severity])}  ${result.id.padEnd(idWidth)}  ${object}${f.message}`,
      );
      if (f.fix && f.severity !== 'pass')
        lines.push(`  ${' '.repeat(4)}  ${' '.repeat(idWidth)}  ${color.dim('fix:')} ${f.fix}`);
    }
  }
  const s = report.summary;
  const verdict = report.ok ? color.green('ready to run') : color.red('not ready: fix the FAIL lines above');
  lines.push(
    '',
    `${s.pass} passed, ${s.warn} warnings, ${s.fail} failed, ${s.info} notes, ${s.error} could not run: ${verdict}`,
  );
  return lines.join('\n');
}
