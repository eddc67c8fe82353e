import { Option, type Command } from 'commander';
import { demo } from '../../demo/demo.js';
import type { CliContext } from '../context.js';

/** `dts demo`: a real migration between two throwaway servers, for a first look. */
export function registerDemo(
  program: Command,
  ctx: CliContext,
  run: (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>,
): void {
  program
    .command('demo')
    .description('Start two throwaway PostgreSQL servers and migrate a sample database between them')
    .addOption(new Option('--keep', 'keep the servers running after the migration, until Ctrl-C'))
    .action(async (flags: { keep?: boolean }) => {
      const result = await demo({
        dts: (args, env) => run(['node', 'dts', ...args], env),
        say: (line) => ctx.stdout.write(line + '\n'),
        env: ctx.env,
        ...(flags.keep
          ? { keepUntil: () => new Promise<void>((resolve) => process.once('SIGINT', () => resolve())) }
          : {}),
      });
      ctx.exitCode = result.exitCode;
    });
}
