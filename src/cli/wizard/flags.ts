import type { z } from 'zod';
import { DtsError, ExitCode } from '../../errors.js';
import { taskFileSchema, type EndpointFile, type TaskFile } from '../../task/file-schema.js';
import type { Mode } from '../../task/types.js';
import {
  defaultPasswordVariable,
  ENV_NAME,
  passwordField,
  type PasswordChoice,
  type PasswordSide,
} from './password.js';
import { splitUrlPassword, urlProblem } from './url.js';

/** `dts create` options as commander parses them (repeatable ones are arrays). */
export interface CreateFlags {
  readonly name?: string;
  readonly schedule?: string;
  readonly mode?: string;
  readonly source?: string;
  readonly target?: string;
  /** When the source is a standby: its primary, where the publication is made. */
  readonly sourcePrimary?: string;
  readonly database?: readonly string[];
  readonly allDatabases?: boolean;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly sourcePasswordEnv?: string;
  readonly targetPasswordEnv?: string;
  readonly sourcePrimaryPasswordEnv?: string;
  readonly plaintextPasswords?: boolean;
}

/** The options that describe the task; any of them means "no wizard" (-o, --force and --json do not). */
export const TASK_FLAGS: readonly (keyof CreateFlags)[] = [
  'name',
  'schedule',
  'mode',
  'source',
  'target',
  'sourcePrimary',
  'database',
  'allDatabases',
  'include',
  'exclude',
  'sourcePasswordEnv',
  'targetPasswordEnv',
  'sourcePrimaryPasswordEnv',
  'plaintextPasswords',
];

const REQUIRED: readonly [keyof CreateFlags & ('name' | 'mode' | 'source' | 'target'), string][] = [
  ['name', '--name: required (letters, digits, _ . -; e.g. --name shop)'],
  ['mode', '--mode: required (structure, full or full+incremental)'],
  ['source', '--source: required (postgresql://user@host:port/database)'],
  ['target', '--target: required (postgresql://user@host:port/database)'],
];

/** The first problem the file schema finds with one value, worded like the task parser's messages. */
function schemaProblem(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  if (issue.code === 'invalid_value') return `expected one of: ${issue.values.map(String).join(', ')}`;
  return issue.message;
}

/**
 * The password a side gets in the file. A password typed into the URL is never written as is: it becomes
 * a `${VAR}` reference the user exports (or plain text, only with --plaintext-passwords). Without one in
 * the URL, a reference is still written when the user names a variable or has the default one set,
 * so `export DTS_SOURCE_PASSWORD=...; dts create ...` works as the README shows.
 */
export function passwordChoice(
  urlPassword: string | undefined,
  variable: string | undefined,
  plaintext: boolean,
  side: PasswordSide,
  env: NodeJS.ProcessEnv,
): PasswordChoice {
  if (urlPassword && plaintext) return { kind: 'plaintext', value: urlPassword };
  if (urlPassword || variable) return { kind: 'env', variable: variable ?? defaultPasswordVariable(side) };
  const fallback = defaultPasswordVariable(side);
  return env[fallback] !== undefined ? { kind: 'env', variable: fallback } : { kind: 'none' };
}

function endpointFromFlag(
  url: string,
  variable: string | undefined,
  plaintext: boolean,
  side: PasswordSide,
  env: NodeJS.ProcessEnv,
): EndpointFile {
  const split = splitUrlPassword(url);
  const password = passwordField(passwordChoice(split.password, variable, plaintext, side, env));
  return password === undefined ? { url: split.url } : { url: split.url, password };
}

/**
 * The primary of a standby source. A physical standby has the primary's roles and passwords, so when
 * nothing names a password of its own (none in the URL, no --source-primary-password-env, no
 * DTS_PRIMARY_PASSWORD set) the primary gets the source's password entry.
 */
function primaryFromFlag(
  url: string,
  variable: string | undefined,
  plaintext: boolean,
  source: EndpointFile,
  env: NodeJS.ProcessEnv,
): EndpointFile {
  const primary = endpointFromFlag(url, variable, plaintext, 'primary', env);
  if (primary.password !== undefined || source.password === undefined) return primary;
  return { ...primary, password: source.password };
}

/**
 * Flags -> the task file to write, with no prompts. Every missing or invalid option is reported at once
 * in one DtsError (exit 2); no message repeats a URL, since it may hold a password.
 */
export function taskFromFlags(flags: CreateFlags, env: NodeJS.ProcessEnv): TaskFile {
  const problems: string[] = [];
  for (const [key, message] of REQUIRED) if (!flags[key]) problems.push(message);
  const shape = taskFileSchema.shape;
  const check = (flag: string, schema: z.ZodType, value: unknown) => {
    const p = value === undefined ? undefined : schemaProblem(schema, value);
    if (p) problems.push(`${flag}: ${p}`);
  };
  check('--name', shape.name, flags.name || undefined);
  check('--mode', shape.mode, flags.mode || undefined);
  check('--schedule', shape.schedule, flags.schedule);
  if (flags.schedule && !problems.some((p) => p.startsWith('--schedule'))) {
    const at = new Date(flags.schedule).getTime();
    if (Number.isNaN(at)) problems.push('--schedule: not a valid date and time');
    // A new task scheduled in the past is a typo (a wrong year or offset), not a wish to start now.
    else if (at <= Date.now())
      problems.push('--schedule: the time is in the past; leave --schedule out to start at once');
  }
  for (const side of ['source', 'target'] as const) {
    const url = flags[side];
    const p = url ? urlProblem(url) : undefined;
    if (p) problems.push(`--${side}: ${p}`);
    const variable = flags[`${side}PasswordEnv`];
    if (variable !== undefined && !ENV_NAME.test(variable)) {
      problems.push(`--${side}-password-env: expected a variable name (letters, digits and _)`);
    }
  }
  if (flags.sourcePrimary !== undefined) {
    const p = flags.sourcePrimary ? urlProblem(flags.sourcePrimary) : 'must not be empty';
    if (p) problems.push(`--source-primary: ${p}`);
  }
  if (flags.sourcePrimaryPasswordEnv !== undefined) {
    if (!ENV_NAME.test(flags.sourcePrimaryPasswordEnv))
      problems.push('--source-primary-password-env: expected a variable name (letters, digits and _)');
    else if (flags.sourcePrimary === undefined)
      problems.push('--source-primary-password-env: give --source-primary too');
  }
  if (flags.allDatabases && flags.database?.length) {
    problems.push('--all-databases: give --database or --all-databases, not both');
  }
  for (const [flag, values] of [
    ['--database', flags.database],
    ['--include', flags.include],
    ['--exclude', flags.exclude],
  ] as const) {
    if (values?.some((v) => v === '')) problems.push(`${flag}: must not be empty`);
  }
  if (problems.length > 0) {
    const n = problems.length;
    throw new DtsError('create-options', `dts create: ${n} option${n === 1 ? '' : 's'} missing or invalid`, {
      details: problems,
      hint: 'pass them as flags (see dts create --help), or run dts create in a terminal to be asked',
      exitCode: ExitCode.usage,
    });
  }

  const plaintext = Boolean(flags.plaintextPasswords);
  const source = endpointFromFlag(flags.source!, flags.sourcePasswordEnv, plaintext, 'source', env);
  const primary = flags.sourcePrimary
    ? primaryFromFlag(flags.sourcePrimary, flags.sourcePrimaryPasswordEnv, plaintext, source, env)
    : undefined;
  const databases = flags.allDatabases
    ? ('all' as const)
    : flags.database?.length
      ? [...flags.database]
      : undefined;
  const objects: NonNullable<TaskFile['objects']> = {
    ...(databases ? { databases } : {}),
    ...(flags.include?.length ? { include: [...flags.include] } : {}),
    ...(flags.exclude?.length ? { exclude: [...flags.exclude] } : {}),
  };
  return {
    name: flags.name!,
    ...(flags.schedule ? { schedule: flags.schedule } : {}),
    mode: flags.mode as Mode,
    source: primary ? { ...source, primary } : source,
    target: endpointFromFlag(flags.target!, flags.targetPasswordEnv, plaintext, 'target', env),
    ...(Object.keys(objects).length > 0 ? { objects } : {}),
  };
}
