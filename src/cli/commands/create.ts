import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { validate } from '../../checks/validate.js';
import { DtsError, ExitCode } from '../../errors.js';
import type { TaskFile } from '../../task/file-schema.js';
import { loadTask } from '../../task/load.js';
import type { Secret } from '../../task/secret.js';
import { passwordVariables, renderTaskFile } from '../../task/write.js';
import type { CliContext } from '../context.js';
import { createOutput, type Output } from '../output.js';
import { renderReport } from '../render/report.js';
import { TASK_FLAGS, taskFromFlags, type CreateFlags } from '../wizard/flags.js';
import { plaintextSides, withoutSecrets } from '../wizard/password.js';
import { inquirerPrompts, type Prompts } from '../wizard/prompts.js';
import { runWizard } from '../wizard/wizard.js';

interface CreateOptions extends CreateFlags {
  readonly output?: string;
  readonly force?: boolean;
  readonly json?: boolean;
}

/** What running validate on the new file gave: whether it passed, and the report for people. */
export interface ValidateOutcome {
  readonly ok: boolean;
  readonly text: string;
}

/** Run validate on a file just written, with the passwords typed in the wizard. */
export type ValidateNow = (file: string, passwords: ReadonlyMap<string, Secret>) => Promise<ValidateOutcome>;

/** What tests may replace: the questions and the validate offered at the end. */
export interface CreateDeps {
  readonly prompts?: Prompts;
  readonly validateNow?: ValidateNow;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** CI sets CI=true; nobody is there to answer, even when a pseudo-terminal makes stdin look like a TTY. */
function inCi(env: NodeJS.ProcessEnv): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI !== 'false';
}

function existsError(output: string): DtsError {
  return new DtsError('task-exists', `${output} already exists; dts create does not overwrite it`, {
    hint: 'pass --force to replace it, or -o to write the task somewhere else',
    exitCode: ExitCode.usage,
  });
}

/**
 * Write the task file. Without --force an existing file is never replaced (the `wx` flag makes the check
 * and the write one step). A file holding a plain-text password is readable by its owner only.
 */
async function save(ctx: CliContext, output: string, task: TaskFile, force: boolean): Promise<string> {
  const path = resolve(ctx.cwd, output);
  const mode = plaintextSides(task).length > 0 ? 0o600 : 0o644;
  try {
    await writeFile(path, renderTaskFile(task, output), { flag: force ? 'w' : 'wx', mode });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw existsError(output);
    throw new DtsError('task-unwritable', `cannot write ${output} (${code})`, {
      hint: 'check that the folder exists and that you may write to it',
      exitCode: ExitCode.usage,
      cause: e,
    });
  }
  return path;
}

/** Tell people what was written and what they must do before validate and run; never a password. */
function report(out: Output, output: string, path: string, task: TaskFile): void {
  const exports = passwordVariables(task);
  out.line(`Wrote ${output}`);
  if (exports.length > 0) {
    out.line('The file refers to passwords by variable; set them before dts validate and dts run:');
    for (const v of exports) out.line(`  export ${v}=...`);
  }
  for (const side of plaintextSides(task)) {
    out.note(
      `warning: ${output} holds the ${side} password in plain text; dts validate will warn about it ` +
        `(use a \${VAR} reference instead)`,
    );
  }
  out.line(`Next: dts validate ${output}`);
  out.data({ file: path, task: withoutSecrets(task), exports });
}

/**
 * The default validate offered after the wizard. The user has not exported the variables yet, so the
 * passwords just typed stand in for them, in this process only and only while validate runs.
 */
function validateWith(ctx: CliContext, out: Output): ValidateNow {
  return async (file, passwords) => {
    const saved = new Map<string, string | undefined>();
    for (const [variable, secret] of passwords) {
      saved.set(variable, process.env[variable]);
      process.env[variable] = secret.reveal();
    }
    try {
      const env = { ...ctx.env };
      for (const [variable, secret] of passwords) env[variable] = secret.reveal();
      const task = await loadTask(file, env);
      const result = await validate(task, ctx.prompt ? { prompt: ctx.prompt } : {});
      return { ok: result.ok, text: renderReport(result, out.color) };
    } finally {
      for (const [variable, value] of saved) {
        if (value === undefined) delete process.env[variable];
        else process.env[variable] = value;
      }
    }
  };
}

/** Inquirer's Ctrl-C: the person stopped answering. */
const isCancel = (e: unknown) => e instanceof Error && e.name === 'ExitPromptError';

async function interactive(
  ctx: CliContext,
  opts: CreateOptions,
  out: Output,
  deps: CreateDeps,
): Promise<void> {
  // Refuse before the first question rather than after the last one.
  if (opts.output && !opts.force && existsSync(resolve(ctx.cwd, opts.output))) throw existsError(opts.output);
  const prompts = deps.prompts ?? inquirerPrompts({ input: ctx.stdin, output: ctx.stdout });
  let answers;
  try {
    answers = await runWizard(prompts, {
      env: ctx.env,
      cwd: ctx.cwd,
      output: opts.output,
      force: Boolean(opts.force),
    });
  } catch (e) {
    if (isCancel(e)) {
      throw new DtsError('cancelled', 'dts create was cancelled; nothing was written', {
        hint: 'run dts create again, or pass flags (see dts create --help)',
        exitCode: ExitCode.usage,
      });
    }
    throw e;
  }
  const path = await save(ctx, answers.output, answers.task, Boolean(opts.force));
  report(out, answers.output, path, answers.task);
  const now = await prompts
    .confirm({ message: `Run dts validate ${answers.output} now?`, default: true })
    .catch((e: unknown) => (isCancel(e) ? false : Promise.reject(e)));
  if (!now) return;
  const outcome = await (deps.validateNow ?? validateWith(ctx, out))(path, answers.passwords);
  out.line(outcome.text);
  ctx.exitCode = outcome.ok ? ExitCode.ok : ExitCode.checksFailed;
}

/**
 * `dts create`: a wizard when a person runs it bare on a terminal; otherwise (any task flag, --json, no
 * TTY, CI) it never asks and takes everything from flags, reporting all that is missing at once.
 */
export function registerCreate(program: Command, ctx: CliContext, deps: CreateDeps = {}): void {
  program
    .command('create')
    .description('Write a task file: a wizard on a terminal, or flags for scripts')
    .option('--name <name>', 'task name: letters, digits, _ . -')
    .option('--mode <mode>', 'structure | full | full+incremental')
    .option('--schedule <time>', 'start time, ISO-8601 with offset (default: now)')
    .option('--source <url>', 'source: postgresql://user@host:port/db?sslmode=..')
    .option('--target <url>', 'target: postgresql://user@host:port/db?sslmode=..')
    .option('--source-primary <url>', "a standby source's primary (publication made there)")
    .option('--database <name>', 'database to migrate (repeatable; default: URL db)', collect)
    .option('--all-databases', 'every non-template database of the source')
    .option('--include <pattern>', 'only tables matching, e.g. public.* (repeatable)', collect)
    .option('--exclude <pattern>', 'leave out tables matching (repeatable)', collect)
    .option('--source-password-env <var>', 'source password variable (DTS_SOURCE_PASSWORD)')
    .option('--target-password-env <var>', 'target password variable (DTS_TARGET_PASSWORD)')
    .option('--source-primary-password-env <var>', 'primary password variable (DTS_PRIMARY_PASSWORD)')
    .option('--plaintext-passwords', 'write URL passwords in the file (validate warns)')
    .option('-o, --output <file>', 'the task file to write (default: <name>.yaml)')
    .option('--force', 'overwrite the output file if it exists')
    .addOption(new Option('--json', 'print the written task (without secrets) as JSON'))
    .addHelpText(
      'after',
      `
With no task options on a terminal, dts create asks (a wizard); otherwise it never prompts.
A password in a --source/--target URL is not written: the file says \${DTS_SOURCE_PASSWORD} (or the
--*-password-env name) and dts names the variable to export. Without one in the URL, the reference is
written when you name a variable or the default one is set; else PGPASSWORD or ~/.pgpass apply.
A --source-primary with no password of its own gets the source's (a standby has the primary's roles).`,
    )
    .action(async (opts: CreateOptions) => {
      const out = createOutput(Boolean(opts.json), ctx);
      const bare = !TASK_FLAGS.some((k) => opts[k] !== undefined) && !opts.json;
      if (bare && ctx.stdin.isTTY && !inCi(ctx.env)) return interactive(ctx, opts, out, deps);
      const task = taskFromFlags(opts, ctx.env);
      const output = opts.output ?? `${task.name}.yaml`;
      const path = await save(ctx, output, task, Boolean(opts.force));
      report(out, output, path, task);
    });
}
