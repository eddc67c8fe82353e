import { checkbox, confirm, input, password, select, Separator } from '@inquirer/prompts';

export { Separator };

type Validate<T> = (value: T) => boolean | string | Promise<boolean | string>;

export interface Choice<V> {
  readonly value: V;
  readonly name: string;
  readonly description?: string;
  /** Shown after the answer, instead of `name`. */
  readonly short?: string;
  readonly checked?: boolean;
}

/**
 * The questions the wizard can ask. Steps take this rather than importing inquirer, so a test can answer
 * them (or drive the real prompts on a fake screen) and the CLI can point them at its own streams.
 */
export interface Prompts {
  input(config: { message: string; default?: string; validate?: Validate<string> }): Promise<string>;
  /** Masked input: the answer is never echoed. */
  password(config: { message: string }): Promise<string>;
  confirm(config: { message: string; default?: boolean }): Promise<boolean>;
  select<V>(config: { message: string; choices: readonly Choice<V>[]; default?: V }): Promise<V>;
  checkbox<V>(config: {
    message: string;
    choices: readonly (Choice<V> | Separator)[];
    required?: boolean;
    pageSize?: number;
  }): Promise<V[]>;
  /** A line between questions (a connection error, what was found); goes where the questions go. */
  say(text: string): void;
}

/** The real prompts, reading keys from `input` and drawing on `output`. */
export function inquirerPrompts(io: {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}): Prompts {
  const context = { input: io.input, output: io.output };
  return {
    input: (config) => input(config, context),
    password: (config) => password(config, context),
    confirm: (config) => confirm(config, context),
    select: (config) => select({ ...config, choices: config.choices }, context),
    checkbox: (config) => checkbox({ ...config, choices: config.choices, loop: false }, context),
    say: (text) => {
      io.output.write(text + '\n');
    },
  };
}
