import { Option, type Command } from 'commander';
import { DtsError, ExitCode } from '../../errors.js';
import { complete } from '../../cutover/complete.js';
import { loadTask } from '../../task/load.js';
import type { CliContext } from '../context.js';
import { createOutput } from '../output.js';
import { lagWaitLine, renderCutoverReport } from '../render/sync.js';

interface CompleteFlags {
  readonly json?: boolean;
  readonly timeout: string;
  readonly waitForLag?: string;
  readonly lagTimeout: string;
  readonly sequenceGap: string;
}

function number(flag: string, value: string, ok: (n: number) => boolean, expected: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n))
    throw new DtsError('bad-usage', `${flag}: expected ${expected}, got ${value}`, {
      exitCode: ExitCode.usage,
    });
  return n;
}

/** Off a terminal, a lag line at most this often while --wait-for-lag waits. */
const LAG_LINE_MS = 5_000;

/** `dts complete`: ask the runner to cut over, wait for it, report. */
export function registerComplete(program: Command, ctx: CliContext): void {
  program
    .command('complete')
    .description('Drain the last changes, sync sequences, release the source and report')
    .argument('<task>', 'task file')
    .addOption(new Option('--json', 'print the result as JSON'))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the runner to finish').default('600'))
    .addOption(
      new Option(
        '--wait-for-lag <seconds>',
        'first wait until every database lags the source by at most this many seconds',
      ),
    )
    .addOption(
      new Option('--lag-timeout <seconds>', 'give up waiting for the lag after this long (exit 5)').default(
        '600',
      ),
    )
    .addOption(
      new Option(
        '--sequence-gap <n>',
        "set each target sequence n increments past the source's value (room for values taken after it was read)",
      ).default('0'),
    )
    .action(async (file: string, flags: CompleteFlags) => {
      const out = createOutput(Boolean(flags.json), ctx);
      const positive = (n: number) => n > 0;
      const seconds = number('--timeout', flags.timeout, positive, 'a number of seconds');
      const lagTimeout = number('--lag-timeout', flags.lagTimeout, positive, 'a number of seconds');
      const waitForLag =
        flags.waitForLag === undefined
          ? undefined
          : number('--wait-for-lag', flags.waitForLag, (n) => n >= 0, 'a number of seconds');
      const sequenceGap = number(
        '--sequence-gap',
        flags.sequenceGap,
        (n) => Number.isSafeInteger(n) && n >= 0,
        'a whole number of increments, 0 or more',
      );
      const task = await loadTask(file, ctx.env);
      const live = Boolean(ctx.stderr.isTTY) && !out.json;
      let lastLine = 0;
      let open = false;
      const report = await complete(task, {
        ...(ctx.prompt ? { prompt: ctx.prompt } : {}),
        timeoutMs: seconds * 1000,
        onStep: (text) => {
          if (open) ctx.stderr.write('\n');
          open = false;
          out.note(`${task.name}: ${text}`);
        },
        ...(waitForLag !== undefined
          ? { waitForLagSeconds: waitForLag, lagTimeoutMs: lagTimeout * 1000 }
          : {}),
        onLag: (w) => {
          const line = `${task.name}: ${lagWaitLine(w)}`;
          if (live) {
            ctx.stderr.write(`\r\x1b[K${line}`);
            open = true;
          } else if (Date.now() - lastLine >= LAG_LINE_MS || (w.worst ?? Infinity) <= w.wantSeconds) {
            out.note(line);
            lastLine = Date.now();
          }
        },
        sequenceGap,
      });
      if (open) ctx.stderr.write('\n');
      out.line(renderCutoverReport(report, out.color));
      out.data(report);
      ctx.exitCode = ExitCode.ok;
    });
}
