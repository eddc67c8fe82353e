import { Command } from 'commander';
import { VERSION } from '../version.js';
import type { CliContext } from './context.js';

/** Runs the CLI again (the demo drives dts through it). */
export type RunCli = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

type Register = (program: Command, ctx: CliContext, run: RunCli) => void;

/**
 * Every command, in `--help` order, with its module loaded only when it is needed: `dts status` does not
 * load the copy engine, the wizard or the progress renderer, so it starts in a fraction of the time.
 */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  [
    'create',
    async () => {
      const { registerCreate } = await import('./commands/create.js');
      return (program, ctx) => registerCreate(program, ctx);
    },
  ],
  ['validate', async () => (await import('./commands/validate.js')).registerValidate],
  ['run', async () => (await import('./commands/run.js')).registerRun],
  ['demo', async () => (await import('./commands/demo.js')).registerDemo],
  ['status', async () => (await import('./commands/status.js')).registerStatus],
  ['cancel', async () => (await import('./commands/cancel.js')).registerCancel],
  ['complete', async () => (await import('./commands/complete.js')).registerComplete],
  ['verify', async () => (await import('./commands/verify.js')).registerVerify],
];

/** The command `argv` names (its first word that is not an option), when it is one of dts's. */
export function commandOf(argv: readonly string[]): string | undefined {
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  return COMMANDS.some(([name]) => name === word) ? word : undefined;
}

/**
 * The command tree: every command, or only `only` (what main does once it knows the command; help,
 * version and mistyped commands get them all). Each subcommand's action sets ctx.exitCode or throws a
 * DtsError.
 */
export async function buildProgram(ctx: CliContext, run: RunCli, only?: string): Promise<Command> {
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
  const wanted = COMMANDS.filter(([name]) => only === undefined || name === only);
  const registers = await Promise.all(wanted.map(([, load]) => load()));
  for (const register of registers) register(program, ctx, run);
  return program;
}
