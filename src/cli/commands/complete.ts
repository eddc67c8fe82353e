import { Option, type Command } from 'commander';
import { DtsError, ExitCode } from '../../errors.js';
import { complete, notSyncing } from '../../cutover/complete.js';
import { formatLsn, maxLsn, parseLsn, ZERO_LSN } from '../../pg/lsn.js';
import { loadTask } from '../../task/load.js';
import { verifyHeld, type HeldVerify } from '../../verify/verify.js';
import type { CliContext } from '../context.js';
import { seconds, secondsOrZero, wholeNumber } from '../numbers.js';
import { createOutput } from '../output.js';
import { lagWaitLine, renderCutoverReport } from '../render/sync.js';
import { renderVerifyReport } from '../render/verify.js';
import { addVerifyOptions, verifyOptions, type VerifyFlags } from './verify.js';

interface CompleteFlags extends VerifyFlags {
  readonly json?: boolean;
  readonly timeout: number;
  readonly waitForLag?: number;
  readonly lagTimeout: number;
  readonly sequenceGap: number;
  readonly verify?: boolean;
  readonly force?: boolean;
}

/** Off a terminal, a lag line at most this often while --wait-for-lag waits. */
const LAG_LINE_MS = 5_000;

/** `dts complete`: ask the runner to cut over, wait for it, report. */
export function registerComplete(program: Command, ctx: CliContext): void {
  addVerifyOptions(
    program
      .command('complete')
      .description('Drain the last changes, sync sequences, release the source and report')
      .argument('<task>', 'task file')
      .addOption(new Option('--json', 'print the result as JSON'))
      .addOption(
        new Option('--timeout <seconds>', 'how long to wait for the runner to finish')
          .argParser(seconds)
          .default(600),
      )
      .addOption(
        new Option(
          '--wait-for-lag <seconds>',
          'first wait until every database lags the source by at most this many seconds',
        ).argParser(secondsOrZero),
      )
      .addOption(
        new Option('--lag-timeout <seconds>', 'give up waiting for the lag after this long (exit 5)')
          .argParser(seconds)
          .default(600),
      )
      .addOption(
        new Option(
          '--sequence-gap <n>',
          "set each target sequence n increments past the source's value (room for values taken after it was read)",
        )
          .argParser(wholeNumber)
          .default(0),
      )
      .addOption(
        new Option(
          '--verify',
          'verify first, with sync held at one source position, and cut over exactly there; refuse when different',
        ),
      )
      .addOption(new Option('--force', 'with --verify: cut over even when differences are found')),
  ).action(async (file: string, flags: CompleteFlags) => {
    const out = createOutput(Boolean(flags.json), ctx);
    const { timeout, lagTimeout, waitForLag, sequenceGap } = flags;
    const task = await loadTask(file, ctx.env);
    const prompt = ctx.prompt ? { prompt: ctx.prompt } : {};
    const live = Boolean(ctx.stderr.isTTY) && !out.json;
    let lastLine = 0;
    let open = false;
    const onStep = (text: string) => {
      if (open) ctx.stderr.write('\n');
      open = false;
      out.note(`${task.name}: ${text}`);
    };
    let held: HeldVerify | undefined;
    try {
      const report = await complete(task, {
        ...prompt,
        timeoutMs: timeout * 1000,
        onStep,
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
        ...(flags.verify
          ? {
              // Everything up to the cutover position is verified: the runner stays held there until
              // the cutover request is recorded.
              endLsn: async () => {
                held = await verifyHeld(task, { ...prompt, ...verifyOptions(flags), onStep });
                if (held.report.consistency.mode !== 'live')
                  throw notSyncing(task, 'its runner stopped during verify');
                if (!held.report.ok && !flags.force) {
                  await held.release();
                  throw new DtsError('verify-different', 'verify found differences', {
                    exitCode: ExitCode.checksFailed,
                  });
                }
                const at = Object.values(held.positions).reduce((m, l) => maxLsn(m, parseLsn(l)), ZERO_LSN);
                return formatLsn(at);
              },
              onRequested: async () => held?.release(),
            }
          : {}),
      });
      if (open) ctx.stderr.write('\n');
      if (held) out.line(renderVerifyReport(held.report, out.color) + '\n');
      out.line(renderCutoverReport(report, out.color));
      out.data(held ? { ...report, verify: held.report } : report);
      ctx.exitCode = ExitCode.ok;
    } catch (e) {
      if (!(e instanceof DtsError && e.code === 'verify-different' && held)) throw e;
      out.line(renderVerifyReport(held.report, out.color));
      out.note(
        `${out.color.red('error:')} task ${task.name} was not completed: verify found differences (sync goes on)`,
      );
      out.note(
        `${out.color.dim('hint:')} fix them and run \`dts complete --verify ${file}\` again, or add --force to cut over anyway`,
      );
      out.data({ task: task.name, ok: false, phase: 'syncing', verify: held.report });
      ctx.exitCode = ExitCode.checksFailed;
    } finally {
      await (held as HeldVerify | undefined)?.release();
    }
  });
}
