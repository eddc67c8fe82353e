import { InvalidArgumentError } from 'commander';

/**
 * Parsers of numeric command-line options (commander's `argParser`), shared so that every command words a
 * bad number the same way: `error: option '--timeout <seconds>' argument 'x' is invalid. expected ...`,
 * exit 2, before anything connects. An empty or blank value is never taken for 0.
 */

/** A parser of numbers that `ok` accepts; a blank value is NaN, which no `ok` accepts. */
const parser =
  (ok: (n: number) => boolean, expected: string) =>
  (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!ok(n)) throw new InvalidArgumentError(`expected ${expected}`);
    return n;
  };

/** A number of seconds above 0, fractions allowed: timeouts, intervals. */
export const seconds = parser((n) => Number.isFinite(n) && n > 0, 'a number of seconds above 0');

/** A number of seconds, 0 or more: a bound that 0 makes as strict as it gets. */
export const secondsOrZero = parser((n) => Number.isFinite(n) && n >= 0, 'a number of seconds, 0 or more');

/** A whole number, 0 or more: counts. */
export const wholeNumber = parser((n) => Number.isSafeInteger(n) && n >= 0, 'a whole number, 0 or more');

/** A whole number above 0: sizes of pools. */
export const wholeAbove0 = parser((n) => Number.isSafeInteger(n) && n >= 1, 'a whole number above 0');

/** A percentage in (0, 100]. */
export const percent = parser((n) => Number.isFinite(n) && n > 0 && n <= 100, 'a percentage in (0, 100]');
