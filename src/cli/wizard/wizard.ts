import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDtsError } from '../../errors.js';
import type { TaskFile } from '../../task/file-schema.js';
import type { Secret } from '../../task/secret.js';
import { askEndpoint } from './ask-endpoint.js';
import { askObjects } from './ask-objects.js';
import { askPrimary } from './ask-primary.js';
import { askMode, askName, askSchedule } from './ask-task.js';
import { endpointFor } from './endpoint.js';
import type { Prompts } from './prompts.js';

export interface WizardOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The -o path; asked for when absent. */
  readonly output: string | undefined;
  readonly force: boolean;
}

export interface WizardResult {
  readonly task: TaskFile;
  /** Where to write, as the user named it. */
  readonly output: string;
  /** Passwords typed for `${VAR}` references, by variable: only for running validate right away. */
  readonly passwords: ReadonlyMap<string, Secret>;
}

/** Source questions, then the pick; a failed connection shows its message and offers to answer again. */
async function askSource(prompts: Prompts, env: NodeJS.ProcessEnv) {
  for (;;) {
    const source = await askEndpoint(prompts, 'source');
    const endpoint = endpointFor(source.file, source.password, env);
    const connect = {
      side: 'source' as const,
      // Only asked when the server wants a password and none was typed.
      prompt: (message: string) => prompts.password({ message }),
    };
    try {
      return { source, ...(await askObjects(prompts, endpoint, connect)) };
    } catch (e) {
      if (!isDtsError(e)) throw e;
      prompts.say(`error: ${e.message}`);
      // The password hints speak of task files and ~/.pgpass; here the fix is to type it again.
      if (e.hint && !['bad-password', 'no-password'].includes(e.code)) prompts.say(`hint: ${e.hint}`);
      if (!(await prompts.confirm({ message: 'Enter the source again?', default: true }))) throw e;
    }
  }
}

/**
 * The interactive `dts create`: asks everything a task needs, connecting to the source to offer its real
 * databases, schemas and tables. Returns the task file to write; writes nothing itself.
 */
export async function runWizard(prompts: Prompts, opts: WizardOptions): Promise<WizardResult> {
  const name = await askName(prompts);
  const schedule = await askSchedule(prompts);
  const mode = await askMode(prompts);
  const { source, objects, standby } = await askSource(prompts, opts.env);
  const primary = await askPrimary(prompts, mode, standby, source);
  const target = await askEndpoint(prompts, 'target');
  const output =
    opts.output ??
    (await prompts.input({
      message: 'Write the task file to',
      default: `${name}.yaml`,
      validate: (v) =>
        opts.force ||
        !existsSync(resolve(opts.cwd, v.trim())) ||
        'that file exists; pick another name (or run dts create --force to overwrite)',
    }));
  const passwords = new Map<string, Secret>();
  for (const side of [source, primary, target]) {
    if (side?.choice.kind === 'env' && side.password) passwords.set(side.choice.variable, side.password);
  }
  return {
    task: {
      name,
      ...(schedule ? { schedule } : {}),
      mode,
      source: primary ? { ...source.file, primary: primary.file } : source.file,
      target: target.file,
      objects,
    },
    output: output.trim(),
    passwords,
  };
}
