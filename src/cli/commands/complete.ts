import { Option, type Command } from 'commander';
import { DtsError, ExitCode } from '../../errors.js';
import { complete } from '../../cutover/complete.js';
import { loadTask } from '../../task/load.js';
import type { CliContext } from '../context.js';
import { createOutput } from '../output.js';
import { renderCutoverReport } from '../render/sync.js';

/** `dts complete`: ask the runner to cut over, wait for it, report. */
export function registerComplete(program: Command, ctx: CliContext): void {
  program
    .command('complete')
    .description('Drain the last changes, sync sequences, release the source and report')
    .argument('<task>', 'task file')
    .addOption(new Option('--json', 'print the result as JSON'))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the runner to finish').default('600'))
    .action(async (file: string, flags: { json?: boolean; timeout: string }) => {
      const out = createOutput(Boolean(flags.json), ctx);
      const seconds = Number(flags.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0)
        throw new DtsError('bad-usage', `--timeout: expected a number of seconds, got ${flags.timeout}`, {
          exitCode: ExitCode.usage,
        });
      const task = await loadTask(file, ctx.env);
      const report = await complete(task, {
        ...(ctx.prompt ? { prompt: ctx.prompt } : {}),
        timeoutMs: seconds * 1000,
        onStep: (text) => out.note(`${task.name}: ${text}`),
      });
      out.line(renderCutoverReport(report, out.color));
      out.data(report);
      ctx.exitCode = ExitCode.ok;
    });
}
