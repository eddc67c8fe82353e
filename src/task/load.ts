import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { cosmiconfig } from 'cosmiconfig';
import { DtsError, ExitCode } from '../errors.js';
import type { OptionsFile } from './file-schema.js';
import { parseDefaults, parseTask } from './parse.js';
import type { Task } from './types.js';

/**
 * Option defaults from the nearest dts config (.dtsrc.yaml, .dtsrc.json, dts.config.js, a "dts" key in
 * package.json, ...), searched from `from` upwards.
 */
export async function loadDefaults(
  from: string,
): Promise<{ options: OptionsFile; file: string | undefined }> {
  const explorer = cosmiconfig('dts', { searchStrategy: 'global' });
  let found;
  try {
    found = await explorer.search(from);
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    throw new DtsError('defaults-invalid', `cannot read the dts defaults file: ${message}`, {
      hint: 'fix or remove the .dtsrc file (see .dtsrc.example.yaml)',
      exitCode: ExitCode.usage,
      cause: e,
    });
  }
  if (!found || found.isEmpty) return { options: {}, file: found?.filepath };
  const text = await readFile(found.filepath, 'utf8').catch(() => undefined);
  return { options: parseDefaults(found.config, found.filepath, text), file: found.filepath };
}

/** Read, check and normalise one task file, with defaults from the dts config next to it (or above). */
export async function loadTask(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Task> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DtsError(
      'task-unreadable',
      code === 'ENOENT' ? `task file not found: ${path}` : `cannot read the task file ${path} (${code})`,
      { hint: 'check the path; `dts create` writes a new task file', exitCode: ExitCode.usage, cause: e },
    );
  }
  const { options } = await loadDefaults(dirname(resolve(path)));
  return parseTask(text, { file: path, env, defaults: options });
}
