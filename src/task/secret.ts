import { inspect } from 'node:util';

/**
 * A password held in memory. Every way of turning it into text (template strings, JSON, console.log,
 * util.inspect) prints a mask; only `reveal()` gives the value, and only the connection code calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '********';
  }

  toJSON(): string {
    return '********';
  }

  [inspect.custom](): string {
    return 'Secret(********)';
  }
}
