import { readFile } from 'node:fs/promises';
import { DtsError, exitCodeForSide, type Side } from '../errors.js';
import type { Endpoint } from '../task/types.js';

/** Asks the person at the terminal for a password; absent when nobody can be asked (CI, no TTY). */
export type PasswordPrompt = (question: string) => Promise<string>;

/**
 * The password to send, or undefined to let node-postgres apply libpq's rules (PGPASSWORD, then ~/.pgpass).
 * Never logged; errors name the variable or file, not the value.
 */
export async function resolvePassword(endpoint: Endpoint, side: Side): Promise<string | undefined> {
  const p = endpoint.password;
  switch (p.kind) {
    case 'inline':
      return p.value.reveal();
    case 'env': {
      const value = process.env[p.variable];
      if (value === undefined) {
        throw new DtsError('missing-env', `${side}: the environment variable ${p.variable} is not set`, {
          hint: `export ${p.variable}=... before running dts (the task file refers to it as \${${p.variable}})`,
          exitCode: exitCodeForSide(side),
        });
      }
      return value;
    }
    case 'file':
      try {
        return (await readFile(p.path, 'utf8')).replace(/\r?\n$/, '');
      } catch (e) {
        throw new DtsError('password-file', `${side}: cannot read the password file ${p.path}`, {
          hint: 'check passwordFile in the task file and the file permissions',
          exitCode: exitCodeForSide(side),
          cause: e,
        });
      }
    case 'default':
      return undefined;
  }
}
