import type { Side } from '../../errors.js';
import type { EndpointFile, TaskFile } from '../../task/file-schema.js';
import { passwordReference } from '../../task/write.js';

/** Environment variable names dts suggests and the task file may refer to as `${NAME}`. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The variable dts suggests for a side's password when the user names none. */
export function defaultPasswordVariable(side: Side): string {
  return side === 'source' ? 'DTS_SOURCE_PASSWORD' : 'DTS_TARGET_PASSWORD';
}

/** How the task file gets a side's password. */
export type PasswordChoice =
  /** `password: ${variable}`: the user exports the variable; nothing secret is written. */
  | { readonly kind: 'env'; readonly variable: string }
  /** The password itself in the file: only when the user asked for it; validate warns. */
  | { readonly kind: 'plaintext'; readonly value: string }
  /** No password key: libpq's rules (PGPASSWORD, ~/.pgpass) or a prompt at connect time. */
  | { readonly kind: 'none' };

/** The `password:` value a choice writes, if any. */
export function passwordField(choice: PasswordChoice): string | undefined {
  if (choice.kind === 'env') return '${' + choice.variable + '}';
  if (choice.kind === 'plaintext') return choice.value;
  return undefined;
}

/** The sides whose password the task file holds in plain text (written only on request). */
export function plaintextSides(task: TaskFile): Side[] {
  return (['source', 'target'] as const).filter((side) => {
    const p = task[side].password;
    return p !== undefined && passwordReference(p) === undefined;
  });
}

/** The task file as it may be shown (`--json`): plain-text passwords masked, references kept. */
export function withoutSecrets(task: TaskFile): TaskFile {
  const mask = (e: EndpointFile): EndpointFile =>
    e.password !== undefined && passwordReference(e.password) === undefined
      ? { ...e, password: '********' }
      : e;
  return { ...task, source: mask(task.source), target: mask(task.target) };
}
