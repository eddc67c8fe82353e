import { Command, CommanderError } from 'commander';
import { password as passwordPrompt } from '@inquirer/prompts';
import { ExitCode } from '../errors.js';
import type { CliContext } from './context.js';
import { createOutput, reportError } from './output.js';
import { registerCancel } from './commands/cancel.js';
import { registerComplete } from './commands/complete.js';
import { registerCreate } from './commands/create.js';
import { registerDemo } from './commands/demo.js';
import { registerRun } from './commands/run.js';
import { registerStatus } from './commands/status.js';
import { registerValidate } from './commands/validate.js';
import { registerVerify } from './commands/verify.js';
import { VERSION } from '../version.js';

/** Build the command tree. Each subcommand's action sets ctx.exitCode or throws a DtsError. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command()
    .name('dts')
    .description('Move a live PostgreSQL database to another PostgreSQL server with no downtime.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 checks failed, 2 bad usage or task file, 3 source error, 4 target error,
            5 bad state, 70 internal error.
Environment: NO_COLOR turns colour off. Passwords come from \${ENV} references, passwordFile,
             PGPASSWORD, ~/.pgpass or a prompt; never from the command line.`,
    );

  registerCreate(program, ctx);
  registerValidate(program, ctx);
  registerRun(program, ctx);
  registerDemo(program, ctx, (argv, env) => main(argv, { ...ctx, env, exitCode: ExitCode.ok }));
  registerStatus(program, ctx);
  registerCancel(program, ctx);
  registerComplete(program, ctx);
  registerVerify(program, ctx);

  return program;
}

/** The whole CLI: parse argv, run one command, return the exit code. Never throws. */
export async function main(argv: readonly string[], ctx?: Partial<CliContext>): Promise<number> {
  const context: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    prompt:
      process.stdin.isTTY && process.stderr.isTTY
        ? (message) => passwordPrompt({ message }, { output: process.stderr })
        : undefined,
    exitCode: ExitCode.ok,
    ...ctx,
  };
  const json = argv.includes('--json');
  const program = buildProgram(context);
  try {
    await program.parseAsync(argv as string[]);
    return context.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      ) {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    return reportError(e, createOutput(json, context), context);
  }
}
