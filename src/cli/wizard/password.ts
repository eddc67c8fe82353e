import type { Side } from '../../errors.js';
import type { EndpointFile, TaskFile } from '../../task/file-schema.js';
import { passwordReference } from '../../task/write.js';

/** Environment variable names dts suggests and the task file may refer to as `${NAME}`. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A server whose password the task file may hold: source, target, or the primary of a standby source. */
export type PasswordSide = Side | 'primary';

const DEFAULT_VARIABLES: Record<PasswordSide, string> = {
  source: 'DTS_SOURCE_PASSWORD',
  target: 'DTS_TARGET_PASSWORD',
  primary: 'DTS_PRIMARY_PASSWORD',
};

/** The variable dts suggests for a side's password when the user names none. */
export function defaultPasswordVariable(side: PasswordSide): string {
  return DEFAULT_VARIABLES[side];
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
export function plaintextSides(task: TaskFile): PasswordSide[] {
  const passwords: [PasswordSide, string | undefined][] = [
    ['source', task.source.password],
    ['primary', task.source.primary?.password],
    ['target', task.target.password],
  ];
  return passwords
    .filter(([, p]) => p !== undefined && passwordReference(p) === undefined)
    .map(([side]) => side);
}

/** The task file as it may be shown (`--json`): plain-text passwords masked, references kept. */
export function withoutSecrets(task: TaskFile): TaskFile {
  const mask = (e: EndpointFile): EndpointFile =>
    e.password !== undefined && passwordReference(e.password) === undefined
      ? { ...e, password: '********' }
      : e;
  const primary = task.source.primary;
  return {
    ...task,
    source: { ...mask(task.source), ...(primary ? { primary: mask(primary) } : {}) },
    target: mask(task.target),
  };
}
