import { Option, type Command } from 'commander';
import { validate } from '../../checks/validate.js';
import type { Report } from '../../checks/report.js';
import { ExitCode } from '../../errors.js';
import { loadTask } from '../../task/load.js';
import type { CliContext } from '../context.js';
import { createOutput } from '../output.js';
import { renderReport } from '../render/report.js';

/** `dts validate`: run every check against the live servers; exit 1 when any fails or could not run. */
export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description(
      'Check the servers and the selection before a migration (PASS / WARN / FAIL, each with a fix)',
    )
    .argument('<task...>', 'task file(s)')
    .addOption(new Option('--json', 'print the report as JSON'))
    .action(async (files: string[], opts: { json?: boolean }) => {
      const out = createOutput(Boolean(opts.json), ctx);
      const reports: Report[] = [];
      for (const file of files) {
        const task = await loadTask(file, ctx.env);
        const report = await validate(task, ctx.prompt ? { prompt: ctx.prompt } : {});
        reports.push(report);
        if (reports.length > 1) out.line('');
        out.line(renderReport(report, out.color));
      }
      out.data(files.length === 1 ? reports[0] : reports);
      ctx.exitCode = reports.every((r) => r.ok) ? ExitCode.ok : ExitCode.checksFailed;
    });
}
