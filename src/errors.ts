/**
 * Exit codes by failure domain. Documented in README; scripts depend on them, so never renumber.
 */
export const ExitCode = {
  ok: 0,
  checksFailed: 1,
  usage: 2,
  source: 3,
  target: 4,
  state: 5,
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Which side of a migration a connection or failure belongs to. */
export type Side = 'source' | 'target';

/**
 * An error that is the user's to fix (bad task file, unreachable server, missing privilege).
 * The CLI prints `message` and `hint` on one line each and exits with `exitCode`; no stack trace.
 * Anything that is not a DtsError is our bug and is printed with its stack.
 */
export class DtsError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  /** Further lines (e.g. every problem in a task file), printed below the message. */
  readonly details: readonly string[];

  constructor(
    code: string,
    message: string,
    opts: { hint?: string; exitCode?: ExitCode; cause?: unknown; details?: readonly string[] } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DtsError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.usage;
    this.details = opts.details ?? [];
  }
}

export function isDtsError(e: unknown): e is DtsError {
  return e instanceof DtsError;
}

export function exitCodeForSide(side: Side): ExitCode {
  return side === 'source' ? ExitCode.source : ExitCode.target;
}
