import type { EndpointFile } from '../../task/file-schema.js';
import { Secret } from '../../task/secret.js';
import {
  defaultPasswordVariable,
  ENV_NAME,
  passwordField,
  type PasswordChoice,
  type PasswordSide,
} from './password.js';
import type { Prompts } from './prompts.js';
import { splitUrlPassword, urlProblem } from './url.js';

/** One server as answered: what goes into the file, and the password typed (kept only in memory). */
export interface AnsweredEndpoint {
  readonly file: EndpointFile;
  /** What was typed, for connecting now and for validate right after; never written unless chosen. */
  readonly password: Secret | undefined;
  readonly choice: PasswordChoice;
}

const required = (what: string) => (v: string) => v.trim() !== '' || `give the ${what}`;

async function askWhere(prompts: Prompts, side: PasswordSide): Promise<{ file: EndpointFile }> {
  const how = await prompts.select<'url' | 'fields'>({
    message: `How do you reach the ${side} server?`,
    choices: [
      { value: 'url', name: 'a URL: postgresql://user@host:port/database?sslmode=...', short: 'URL' },
      {
        value: 'fields',
        name: 'host, port, user and database, one by one',
        short: 'host, port, user, database',
      },
    ],
  });
  if (how === 'url') {
    // What is typed here is echoed, so the password is refused here and asked next, hidden.
    const url = await prompts.input({
      message: `${side} URL (without the password)`,
      validate: (v) =>
        urlProblem(v.trim()) ??
        (splitUrlPassword(v.trim()).password === undefined ||
          'leave the password out of the URL; it is asked next, hidden'),
    });
    return { file: { url: url.trim() } };
  }
  const host = (await prompts.input({ message: `${side} host`, validate: required('host') })).trim();
  const port = await prompts.input({
    message: `${side} port`,
    default: '5432',
    validate: (v) =>
      (/^\d{1,5}$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 65535) || 'expected a port number',
  });
  const user = await prompts.input({
    message: `${side} user`,
    default: 'postgres',
    validate: required('user'),
  });
  const database = await prompts.input({
    message: `${side} database`,
    default: 'postgres',
    validate: required('database'),
  });
  return { file: { host, port: Number(port), user: user.trim(), database: database.trim() } };
}

/**
 * Ask where one server is and how the task file gets its password. The password is asked masked; by
 * default the file refers to it as `${DTS_SOURCE_PASSWORD}` (the user exports it), and plain text is
 * written only when the user picks it, with the warning that validate will repeat.
 * `emptyMeans` says what an empty password stands for (default: libpq's own rules).
 */
export async function askEndpoint(
  prompts: Prompts,
  side: PasswordSide,
  emptyMeans = 'none, dts then uses PGPASSWORD or ~/.pgpass',
): Promise<AnsweredEndpoint> {
  const where = await askWhere(prompts, side);
  const typed = await prompts.password({ message: `${side} password (hidden; empty: ${emptyMeans})` });
  if (typed === '') return { file: where.file, password: undefined, choice: { kind: 'none' } };
  const store = await prompts.select<'env' | 'plaintext'>({
    message: 'How should the task file get this password?',
    choices: [
      {
        value: 'env',
        name: 'an environment variable (recommended): the file says ${VAR}, you export VAR',
        short: 'environment variable',
      },
      {
        value: 'plaintext',
        name: 'in the file, in plain text (dts validate will warn)',
        short: 'plain text in the file',
      },
    ],
    default: 'env',
  });
  let choice: PasswordChoice;
  if (store === 'env') {
    const variable = await prompts.input({
      message: 'Variable name',
      default: defaultPasswordVariable(side),
      validate: (v) => ENV_NAME.test(v.trim()) || 'expected letters, digits and _, not starting with a digit',
    });
    choice = { kind: 'env', variable: variable.trim() };
  } else {
    choice = { kind: 'plaintext', value: typed };
    prompts.say(`The ${side} password will be written in plain text; dts validate will warn about it.`);
  }
  const password = passwordField(choice);
  return {
    file: password === undefined ? where.file : { ...where.file, password },
    password: new Secret(typed),
    choice,
  };
}
