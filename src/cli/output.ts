import { Chalk, type ChalkInstance } from 'chalk';
import { ExitCode, isDtsError } from '../errors.js';

/** Where a command writes: people get colour and words, machines (`--json`) get one JSON document. */
export interface Output {
  readonly json: boolean;
  readonly color: ChalkInstance;
  readonly isTTY: boolean;
  /** A line for people on stdout (suppressed under --json). */
  line(text: string): void;
  /** A note for people on stderr (suppressed under --json). */
  note(text: string): void;
  /** The command's result as JSON on stdout (only under --json). */
  data(value: unknown): void;
}

export interface Streams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** NO_COLOR (any non-empty value) and non-TTY output turn colour off; FORCE_COLOR turns it on. */
export function colorLevel(streams: Streams): 0 | 1 {
  const env = streams.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return 1;
  return streams.stdout.isTTY ? 1 : 0;
}

export function createOutput(json: boolean, streams: Streams): Output {
  return {
    json,
    color: new Chalk({ level: colorLevel(streams) }),
    isTTY: Boolean(streams.stdout.isTTY),
    line: (text) => {
      if (!json) streams.stdout.write(text + '\n');
    },
    note: (text) => {
      if (!json) streams.stderr.write(text + '\n');
    },
    data: (value) => {
      if (json) streams.stdout.write(JSON.stringify(value, null, 2) + '\n');
    },
  };
}

/**
 * Print a failure and return its exit code. The user's problems are one line plus a hint; our bugs print
 * the stack and versions so they can be reported.
 */
export function reportError(e: unknown, out: Output, streams: Streams): ExitCode {
  if (isDtsError(e)) {
    if (out.json) {
      streams.stdout.write(
        JSON.stringify(
          { error: { code: e.code, message: e.message, hint: e.hint, details: e.details } },
          null,
          2,
        ) + '\n',
      );
    } else {
      streams.stderr.write(`${out.color.red('error:')} ${e.message}\n`);
      for (const d of e.details) streams.stderr.write(`  ${d}\n`);
      if (e.hint) streams.stderr.write(`${out.color.dim('hint:')} ${e.hint}\n`);
    }
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  streams.stderr.write(
    `internal error: ${err.message}\n${err.stack ?? ''}\n` +
      `dts on node ${process.version} (${process.platform}-${process.arch}); please report this with the lines above\n`,
  );
  return ExitCode.internal;
}
