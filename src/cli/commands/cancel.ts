import { Option, type Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { cancel } from '../../state/cancel.js';
import { loadTask } from '../../task/load.js';
import type { CliContext } from '../context.js';
import { createOutput } from '../output.js';
import { renderCancel } from '../render/status.js';

/** `dts cancel`: stop the runner (if any), release the source, record `cancelled`. */
export function registerCancel(program: Command, ctx: CliContext): void {
  program
    .command('cancel')
    .description('Stop a task and remove its replication slot and publication')
    .argument('<task>', 'task file')
    .addOption(new Option('--json', 'print the result as JSON'))
    .addOption(
      new Option(
        '--drop-target',
        "also drop the target databases dts created, and the task's _dts records (objects in databases dts did not create stay)",
      ),
    )
    .action(async (file: string, flags: { json?: boolean; dropTarget?: boolean }) => {
      const out = createOutput(Boolean(flags.json), ctx);
      const task = await loadTask(file, ctx.env);
      const report = await cancel(task, {
        ...(ctx.prompt ? { prompt: ctx.prompt } : {}),
        dropTarget: Boolean(flags.dropTarget),
        onStep: (text) => out.note(`${task.name}: ${text}`),
      });
      out.line(renderCancel(report, out.color));
      out.data(report);
      ctx.exitCode = ExitCode.ok;
    });
}
