import { Option, type Command } from 'commander';
import { validate } from '../../checks/validate.js';
import { buildReport, type Report } from '../../checks/report.js';
import { runFullLoad, stopError, type StopReason } from '../../copy/index.js';
import { planCopyDryRun, type CopyPlanReport } from '../../copy/dry-run.js';
import { anySchemaMark } from '../../copy/resume.js';
import type { FullLoadReport } from '../../copy/report.js';
import { DtsError, ExitCode, isDtsError } from '../../errors.js';
import { migrateSchema, planSchema } from '../../schema/index.js';
import type { SchemaPlanReport, SchemaReport } from '../../schema/report.js';
import { releaseSource } from '../../state/cancel.js';
import { acquireRunnerLock } from '../../state/lock.js';
import type { LoadRecord, TaskState } from '../../state/store.js';
import { syncUntilCutover, type CutoverReport } from '../../cutover/sync.js';
import type { SyncProgress } from '../../replication/index.js';
import { renderCutoverReport, syncLine } from '../render/sync.js';
import { loadTask } from '../../task/load.js';
import type { Task } from '../../task/types.js';
import type { CliContext } from '../context.js';
import { createOutput, reportError, type Output } from '../output.js';
import { createProgressRenderer, renderFullLoadReport } from '../render/progress.js';
import { renderCopyPlan } from '../render/copy-plan.js';
import { renderReport } from '../render/report.js';
import { renderSchemaPlan, renderSchemaReport } from '../render/schema-report.js';

interface RunFlags {
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly now?: boolean;
  readonly restart?: boolean;
  readonly validate?: boolean;
}

/** What one task of the queue ended with, for --json and the exit code. */
type TaskResult =
  | SchemaReport
  | SchemaPlanReport
  | (SchemaPlanReport & { readonly copy: CopyPlanReport })
  | FullLoadReport
  | { readonly task: string; readonly ok: false; readonly validation: Report }
  | { readonly task: string; readonly ok: false; readonly error: { code: string; message: string } }
  | { readonly task: string; readonly ok: true; readonly alreadyDone: true }
  | { readonly fullLoad: FullLoadReport | undefined; readonly cutover: CutoverReport };

/** Validate (unless --no-validate): undefined to go on, or the refusal to return. */
type ValidateStep = (prior: TaskState | undefined) => Promise<TaskResult | undefined>;

const pad = (n: number) => String(n).padStart(2, '0');
const countdown = (ms: number) => {
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
};

/** Wait for the task's schedule, with a countdown on stderr (rewritten in place on a terminal). */
async function waitForSchedule(task: Task, ctx: CliContext, out: Output): Promise<void> {
  if (!task.schedule) return;
  if (task.schedule.getTime() <= Date.now()) {
    out.note(`${task.name}: scheduled for ${task.schedule.toISOString()}, which has passed; starting now`);
    return;
  }
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

/**
 * The queue order: tasks without a schedule first, in the order given, then scheduled ones by time
 * (a stable sort keeps the given order between equal times).
 */
export function queueOrder(tasks: readonly Task[]): Task[] {
  const key = (t: Task) => t.schedule?.getTime() ?? -Infinity;
  return [...tasks].sort((a, b) => key(a) - key(b));
}

/** Run one task to its end; a failure of this task is returned, not thrown, so the queue goes on. */
async function runTask(task: Task, flags: RunFlags, ctx: CliContext, out: Output): Promise<TaskResult> {
  const prompt = ctx.prompt ? { prompt: ctx.prompt } : {};
  const onStep = (text: string) => out.note(`${task.name}: ${text}`);
  if (flags.dryRun) {
    const plan = await planSchema(task, { ...prompt, onStep, readTarget: false });
    out.line(renderSchemaPlan(plan));
    if (task.mode === 'structure') return plan;
    const copy = await planCopyDryRun(task, plan.databases, prompt);
    out.line(renderCopyPlan(copy));
    return { ...plan, copy };
  }
  if (!flags.now) await waitForSchedule(task, ctx, out);
  const report: ValidateStep = async (prior) => {
    if (flags.validate === false) return undefined;
    onStep('validating');
    let result = await validate(task, prompt);
    // A resumed run finds on the target the objects its own pre-data created, and on the source the
    // slot and publication its own load made (full+incremental): that is not a clash.
    const ownSchema =
      prior?.databases.some((d) => d.preDataAt !== undefined) ||
      (task.mode !== 'structure' && (await anySchemaMark(task, prompt)));
    const own = new Set([
      ...(ownSchema ? ['target.existing_objects'] : []),
      // Also before its load was recorded (killed just after creating the slot): the copy drops and
      // recreates both, so a recorded task of this name is enough.
      ...(prior && task.mode === 'full+incremental' ? ['source.replication_names'] : []),
    ]);
    if (own.size > 0)
      result = buildReport(
        result.task,
        result.mode,
        result.results.filter((r) => !own.has(r.id)),
      );
    if (result.ok) return undefined;
    out.line(
      renderReport({ ...result, results: result.results.filter((r) => r.severity !== 'pass') }, out.color),
    );
    out.note(
      `${task.name}: not started: validate found problems (fix them, or --no-validate to skip the checks)`,
    );
    return { task: task.name, ok: false, validation: result };
  };
  if (task.mode === 'structure') {
    const refused = await report(undefined);
    if (refused) return refused;
    const schema = await migrateSchema(task, { ...prompt, onStep });
    out.line(renderSchemaReport(schema, out.color));
    return schema;
  }
  return runFull(task, flags, ctx, out, report);
}

/**
 * Mode full under the runner lock: one runner per task; a done task is left alone; a cancelled one
 * needs --restart; anything else resumes from what `_dts` records (see runFullLoad).
 */
async function runFull(
  task: Task,
  flags: RunFlags,
  ctx: CliContext,
  out: Output,
  validated: ValidateStep,
): Promise<TaskResult> {
  const prompt = ctx.prompt ? { prompt: ctx.prompt } : {};
  const lock = await acquireRunnerLock(task, prompt);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) {
      // Nothing durable is half-written: COPYs roll back and the temporary slot goes with the process.
      ctx.stderr.write(`${task.name}: stopped at once; run \`dts run ${task.file}\` again to resume\n`);
      process.exit(ExitCode.state);
    }
    out.note(`${task.name}: stopping (recording the state; Ctrl-C again stops at once)`);
    controller.abort('interrupted' satisfies StopReason);
  };
  let polling = false;
  // Set when another runner took the lock while this one had lost it: the run ends with that error.
  let lostTo: DtsError | undefined;
  const poll = setInterval(() => {
    if (polling || controller.signal.aborted) return;
    polling = true;
    lock
      .cancelRequested()
      .then((yes) => {
        if (yes) {
          out.note(`${task.name}: dts cancel asked this run to stop`);
          controller.abort('cancelled' satisfies StopReason);
        }
      })
      // The lock's connection is gone, and with it the lock: take it again unless another runner did.
      .catch(async () => {
        out.note(`${task.name}: lost the connection that holds the runner lock on the target; reconnecting`);
        const r = await lock.retake({ signal: controller.signal });
        if (r.outcome === 'retaken') {
          out.note(`${task.name}: took the runner lock again (reconnect ${lock.retakes}); going on`);
          return;
        }
        if (controller.signal.aborted) return;
        if (r.outcome === 'taken') {
          lostTo = r.error;
          out.note(`${task.name}: another runner took the runner lock meanwhile; stopping`);
        } else out.note(`${task.name}: could not take the runner lock again; stopping`);
        controller.abort('interrupted' satisfies StopReason);
      })
      .finally(() => (polling = false));
  }, 1000);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const prior = lock.state;
    if (prior?.phase === 'done' || prior?.phase === 'completed') {
      out.note(`${task.name}: task ${task.name} is already done; nothing to do`);
      return { task: task.name, ok: true, alreadyDone: true };
    }
    if (prior?.phase === 'cancelled' && !flags.restart)
      throw new DtsError('cancelled', `task ${task.name} was cancelled`, {
        hint: `\`dts run --restart ${task.file}\` starts it again (what was committed is kept, the copy starts from a new snapshot)`,
        exitCode: ExitCode.state,
      });
    // Cancel dropped the slot: the changes since the copy are lost to sync, so the copy must be redone,
    // and copying again into tables that have their keys and indexes is not what resume does.
    if (
      prior?.phase === 'cancelled' &&
      task.mode === 'full+incremental' &&
      prior.loads.some((l) => l.phase === 'done' || l.phase === 'copied' || l.phase === 'refresh')
    )
      throw new DtsError(
        'cancelled',
        `task ${task.name} was cancelled after its copy; incremental sync cannot go on without its slot`,
        {
          hint: `\`dts cancel --drop-target ${task.file}\` removes what dts created; \`dts run ${task.file}\` then starts over`,
          exitCode: ExitCode.state,
        },
      );
    if (prior) out.note(`${task.name}: resuming (recorded phase: ${prior.phase})`);
    const refused = await validated(prior);
    if (refused) return refused;
    // Stopped while validating: nothing was started, the recorded phase stays as it was.
    if (controller.signal.aborted)
      throw stopError(task, controller.signal.reason === 'cancelled' ? 'cancelled' : 'interrupted');
    const incremental = task.mode === 'full+incremental';
    if (incremental && (prior?.phase === 'syncing' || prior?.phase === 'cutover')) {
      out.note(`${task.name}: the full load was done by an earlier run; not copying again, resuming sync`);
      return { fullLoad: undefined, cutover: await runSync(task, prior.loads, ctx, out, controller.signal) };
    }
    const progress = createProgressRenderer(out, { jsonLines: (l) => ctx.stderr.write(l + '\n') });
    let report: FullLoadReport;
    try {
      report = await runFullLoad(task, {
        keepSlot: incremental,
        ...prompt,
        onEvent: progress.onEvent,
        signal: controller.signal,
        ...(prior ? { prior } : {}),
        runner: lock.info,
      });
    } catch (e) {
      if (isDtsError(e) && e.code === 'cancelled') {
        const databases = [...(prior?.loads.map((l) => l.sourceDatabase) ?? [])];
        await releaseSource(task, databases, prompt).catch(() => undefined);
      }
      throw e;
    } finally {
      await progress.finish();
    }
    out.line(renderSchemaReport(report.preData, out.color));
    if (report.postData) out.line(renderSchemaReport(report.postData, out.color));
    out.line(renderFullLoadReport(report, out.color));
    if (!incremental || !report.ok) return report;
    const loads = report.databases.map((d) => ({
      task: task.name,
      sourceDatabase: d.source,
      targetDatabase: d.target,
      slot: d.slot,
      temporarySlot: d.temporarySlot,
      consistentPoint: d.consistentPoint,
      snapshotName: d.snapshotName,
      snapshotAt: new Date(d.snapshotAt),
    }));
    return { fullLoad: report, cutover: await runSync(task, loads, ctx, out, controller.signal) };
  } catch (e) {
    throw lostTo ?? e;
  } finally {
    clearInterval(poll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lock.release();
  }
}

/**
 * Incremental sync until `dts complete` (full+incremental), with a progress line every few seconds
 * (rewritten in place on a terminal). A stop leaves the phase `syncing` for a later run to resume; a
 * cancel also releases the source.
 */
async function runSync(
  task: Task,
  loads: readonly LoadRecord[],
  ctx: CliContext,
  out: Output,
  signal: AbortSignal,
): Promise<CutoverReport> {
  const prompt = ctx.prompt ? { prompt: ctx.prompt } : {};
  const latest = new Map<string, SyncProgress>();
  const live = Boolean(ctx.stderr.isTTY) && !out.json;
  let shown = false;
  const show = () => {
    const line = syncLine(task.name, [...latest.values()]);
    if (live) ctx.stderr.write(`\r\x1b[K${line}`);
    else out.note(line);
    shown = true;
  };
  const clear = () => {
    if (live && shown) ctx.stderr.write('\n');
    shown = false;
  };
  const ticker = setInterval(show, live ? 1000 : SYNC_PROGRESS_MS);
  try {
    const report = await syncUntilCutover(task, loads, {
      ...prompt,
      signal,
      onProgress: (p) => latest.set(p.database, p),
      onStep: (text) => {
        clear();
        out.note(`${task.name}: ${text}`);
      },
    });
    clearInterval(ticker);
    clear();
    out.line(renderCutoverReport(report, out.color));
    return report;
  } catch (e) {
    clearInterval(ticker);
    clear();
    if (isDtsError(e) && e.code === 'cancelled')
      await releaseSource(
        task,
        loads.map((l) => l.sourceDatabase),
        prompt,
      ).catch(() => undefined);
    throw e;
  }
}

/** Off a terminal, a sync progress line this often (DTS_SYNC_PROGRESS_MS overrides it, for tests). */
const SYNC_PROGRESS_MS = Number(process.env.DTS_SYNC_PROGRESS_MS ?? 5000) || 5000;

/** `dts run`: validate, then migrate each task in turn (a queue in schedule order). */
export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('Migrate: schema, data, then (full+incremental) keep syncing until complete')
    .argument('<task...>', 'task file(s): a queue, run one after another in schedule order')
    .addOption(
      new Option(
        '--dry-run',
        'print the DDL plan and the copy plan; change nothing (the target is not contacted)',
      ),
    )
    .addOption(new Option('--json', 'print the result as JSON'))
    .addOption(new Option('--now', "start at once, ignoring the tasks' schedules"))
    .addOption(new Option('--no-validate', 'skip the checks dts validate runs before starting'))
    .addOption(new Option('--restart', 'run a task that was cancelled again (mode: full)'))
    .action(async (files: string[], flags: RunFlags) => {
      const out = createOutput(Boolean(flags.json), ctx);
      // Every file is read and checked before anything starts: a typo in the third file must not
      // leave the first two half-run.
      const tasks: Task[] = [];
      for (const file of files) {
        const task = await loadTask(file, ctx.env);
        tasks.push(task);
      }
      const results: TaskResult[] = [];
      let exitCode: number = ExitCode.ok;
      for (const task of queueOrder(tasks)) {
        if (results.length > 0) out.line('');
        let result: TaskResult;
        try {
          result = await runTask(task, flags, ctx, out);
        } catch (e) {
          if (!isDtsError(e) || tasks.length === 1) throw e;
          const code = out.json ? e.exitCode : reportError(e, out, ctx);
          result = { task: task.name, ok: false, error: { code: e.code, message: e.message } };
          if (exitCode === ExitCode.ok) exitCode = code;
        }
        results.push(result);
        if (!('ok' in result) || result.ok) continue;
        if (exitCode === ExitCode.ok)
          exitCode = 'validation' in result ? ExitCode.checksFailed : ExitCode.target;
      }
      out.data(results.length === 1 ? results[0] : results);
      ctx.exitCode = exitCode;
    });
}
