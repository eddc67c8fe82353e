import type { Streams } from './output.js';
import type { PasswordPrompt } from '../pg/password.js';

/** What a command adapter may use from the outside world; tests pass their own. */
export interface CliContext extends Streams {
  readonly cwd: string;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Asks for a password at the terminal; undefined when nobody can be asked (no TTY, CI). */
  readonly prompt: PasswordPrompt | undefined;
  /** Set by the command's action: the process exit code. */
  exitCode: number;
}
