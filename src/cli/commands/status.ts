import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { SETTLED, status, type StatusSnapshot } from '../../state/status.js';
import { loadTask } from '../../task/load.js';
import type { CliContext } from '../context.js';
import { seconds } from '../numbers.js';
import { createOutput } from '../output.js';
import { renderStatus } from '../render/status.js';

interface StatusFlags {
  readonly json?: boolean;
  readonly watch?: number | true;
}

/**
 * `dts status`: read-only, from any machine with the task file. `--watch` reads again every interval
 * until the task is done, failed or cancelled (or Ctrl-C): redrawn in place on a terminal, a new block
 * each time otherwise (and one JSON document per read with --json).
 */
export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('Show the progress of a task, from any terminal')
    .argument('<task>', 'task file')
    .addOption(new Option('--json', 'print the status as JSON'))
    .addOption(
      new Option('--watch [seconds]', 'refresh every few seconds (default 2) until the task ends').argParser(
        seconds,
      ),
    )
    .action(async (file: string, flags: StatusFlags) => {
      const out = createOutput(Boolean(flags.json), ctx);
      const task = await loadTask(file, ctx.env);
      const deps = ctx.prompt ? { prompt: ctx.prompt } : {};
      const show = (s: StatusSnapshot) => {
        if (out.json) ctx.stdout.write(JSON.stringify(s, null, flags.watch ? undefined : 2) + '\n');
        else out.line(renderStatus(s, out.color));
      };
      let snapshot = await status(task, deps);
      if (flags.watch === undefined) {
        show(snapshot);
        ctx.exitCode = ExitCode.ok;
        return;
      }
      const everyMs = (flags.watch === true ? 2 : flags.watch) * 1000;
      const redraw = out.isTTY && !out.json;
      let drawn = 0;
      // Ctrl-C ends the watch at once and still exits 0: the last snapshot shown was read fine.
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.once('SIGINT', onSigint);
      try {
        for (;;) {
          if (redraw && drawn > 0) ctx.stdout.write(`\x1b[${drawn}F\x1b[J`);
          show(snapshot);
          if (redraw) drawn = renderStatus(snapshot, out.color).split('\n').length;
          else if (!out.json) out.line('');
          if (SETTLED.has(snapshot.condition) || stop.signal.aborted) break;
          await sleep(everyMs, undefined, { signal: stop.signal }).catch(() => undefined);
          if (stop.signal.aborted) break;
          snapshot = await status(task, deps);
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
      ctx.exitCode = ExitCode.ok;
    });
}
