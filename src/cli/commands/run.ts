import { Option, type Command } from 'commander';
import { DtsError, ExitCode } from '../../errors.js';
import { migrateSchema, planSchema } from '../../schema/index.js';
import type { SchemaPlanReport, SchemaReport } from '../../schema/report.js';
import { loadTask } from '../../task/load.js';
import type { Task } from '../../task/types.js';
import type { CliContext } from '../context.js';
import { createOutput, type Output } from '../output.js';
import { renderSchemaPlan, renderSchemaReport } from '../render/schema-report.js';

interface RunFlags {
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly now?: boolean;
}

/** Refuse what this release cannot do yet, before touching anything. */
function refuseUnsupported(task: Task): void {
  if (task.mode !== 'structure')
    throw new DtsError(
      'not-implemented',
      `${task.file}: mode ${task.mode}: the data copy is not implemented yet`,
      {
        hint: 'use mode: structure to migrate the schema only',
        exitCode: ExitCode.notImplemented,
      },
    );
}

const pad = (n: number) => String(n).padStart(2, '0');
const countdown = (ms: number) => {
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
};

/** Wait for the task's schedule, with a countdown on stderr (rewritten in place on a terminal). */
async function waitForSchedule(task: Task, ctx: CliContext, out: Output): Promise<void> {
  if (!task.schedule || task.schedule.getTime() <= Date.now()) return;
  const at = task.schedule.toISOString();
  const live = Boolean(ctx.stderr.isTTY) && !out.json;
  const line = () =>
    `${task.name}: scheduled for ${at}, starting in ${countdown(task.schedule!.getTime() - Date.now())} (--now starts at once)`;
  if (!live) out.note(line());
  for (
    let left = task.schedule.getTime() - Date.now();
    left > 0;
    left = task.schedule.getTime() - Date.now()
  ) {
    if (live) ctx.stderr.write(`\r${line()}`);
    await new Promise((r) => setTimeout(r, Math.min(left, 1000)));
  }
  if (live) ctx.stderr.write('\n');
}

/** `dts run`: migrate each task in turn. This release does `mode: structure` (the schema stage). */
export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('Migrate: schema, data, then (full+incremental) keep syncing until complete')
    .argument('<task...>', 'task file(s), run one after another')
    .addOption(new Option('--dry-run', 'print the DDL plan; change nothing (the target is not contacted)'))
    .addOption(new Option('--json', 'print the result as JSON'))
    .addOption(new Option('--now', "start at once, ignoring the task's schedule"))
    .action(async (files: string[], flags: RunFlags) => {
      const out = createOutput(Boolean(flags.json), ctx);
      const results: (SchemaReport | SchemaPlanReport)[] = [];
      let ok = true;
      for (const file of files) {
        const task = await loadTask(file, ctx.env);
        refuseUnsupported(task);
        const deps = {
          ...(ctx.prompt ? { prompt: ctx.prompt } : {}),
          onStep: (text: string) => out.note(`${task.name}: ${text}`),
        };
        if (files.length > 1 && results.length > 0) out.line('');
        if (flags.dryRun) {
          const plan = await planSchema(task, { ...deps, readTarget: false });
          results.push(plan);
          out.line(renderSchemaPlan(plan));
          continue;
        }
        if (!flags.now) await waitForSchedule(task, ctx, out);
        const report = await migrateSchema(task, deps);
        results.push(report);
        out.line(renderSchemaReport(report, out.color));
        ok &&= report.ok;
      }
      out.data(files.length === 1 ? results[0] : results);
      ctx.exitCode = ok ? ExitCode.ok : ExitCode.target;
    });
}
