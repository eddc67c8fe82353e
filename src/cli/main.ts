import { CommanderError } from 'commander';
import { ExitCode } from '../errors.js';
import type { CliContext } from './context.js';
import { createOutput, reportError } from './output.js';
import { buildProgram, commandOf } from './program.js';

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
        ? async (message) => {
            const { password } = await import('@inquirer/prompts');
            return password({ message }, { output: process.stderr });
          }
        : undefined,
    exitCode: ExitCode.ok,
    ...ctx,
  };
  const json = argv.includes('--json');
  try {
    const program = await buildProgram(
      context,
      (args, env) => main(args, { ...context, env, exitCode: ExitCode.ok }),
      commandOf(argv),
    );
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
