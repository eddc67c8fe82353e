import { Option, type Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { loadTask } from '../../task/load.js';
import { verify } from '../../verify/verify.js';
import type { CliContext } from '../context.js';
import { percent, wholeAbove0, wholeNumber } from '../numbers.js';
import { createOutput } from '../output.js';
import { renderTableVerdict, renderVerifyReport } from '../render/verify.js';

export interface VerifyFlags {
  readonly json?: boolean;
  readonly tables?: string[];
  readonly sample?: number;
  readonly parallel?: number;
  readonly examples?: number;
  readonly showRows?: boolean;
}

const list = (v: string, prev: string[] | undefined): string[] => [
  ...(prev ?? []),
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** The options verify and `complete --verify` share. */
export function verifyOptions(flags: VerifyFlags) {
  return {
    ...(flags.tables ? { tables: flags.tables } : {}),
    ...(flags.sample !== undefined ? { samplePercent: flags.sample } : {}),
    ...(flags.parallel !== undefined ? { parallel: flags.parallel } : {}),
    ...(flags.examples !== undefined ? { examples: flags.examples } : {}),
    ...(flags.showRows ? { showRows: true } : {}),
  };
}

/** Add verify's comparison options to a command. */
export function addVerifyOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--tables <globs>',
        'compare only these tables (schema.table or table, globs, comma-separated)',
      ).argParser(list),
    )
    .addOption(
      new Option(
        '--sample <percent>',
        'compare about this percent of each table (chosen by key hash)',
      ).argParser(percent),
    )
    .addOption(
      new Option('--parallel <n>', 'sessions per side (default: the task option parallel)').argParser(
        wholeAbove0,
      ),
    )
    .addOption(
      new Option('--examples <n>', 'differing rows listed per table (default 10)').argParser(wholeNumber),
    )
    .addOption(new Option('--show-rows', 'print the differing rows themselves (row data!)'));
}

/** `dts verify`: compare source and target; exit 0 when equal, 1 when different. */
export function registerVerify(program: Command, ctx: CliContext): void {
  addVerifyOptions(
    program
      .command('verify')
      .description('Compare source and target: row counts, row content by key, and structure')
      .argument('<task>', 'task file')
      .addOption(new Option('--json', 'print the report as JSON')),
  ).action(async (file: string, flags: VerifyFlags) => {
    const out = createOutput(Boolean(flags.json), ctx);
    const task = await loadTask(file, ctx.env);
    const report = await verify(task, {
      ...(ctx.prompt ? { prompt: ctx.prompt } : {}),
      ...verifyOptions(flags),
      onStep: (text) => out.note(`${task.name}: ${text}`),
      onTable: (t) => {
        if (out.isTTY) out.note(renderTableVerdict(t, out.color).split('\n')[0]!);
      },
    });
    out.line(renderVerifyReport(report, out.color));
    out.data(report);
    ctx.exitCode = report.ok ? ExitCode.ok : ExitCode.checksFailed;
  });
}
