import { InvalidArgumentError } from 'commander';

/**
 * Parsers of numeric command-line options (commander's `argParser`), shared so that every command words a
 * bad number the same way: `error: option '--timeout <seconds>' argument 'x' is invalid. expected ...`,
 * exit 2, before anything connects. An empty or blank value is never taken for 0.
 */

const numberIn = (v: string): number => (v.trim() === '' ? NaN : Number(v));

/** A number of seconds above 0, fractions allowed: timeouts, intervals. */
export function seconds(v: string): number {
  const n = numberIn(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

/** A number of seconds, 0 or more: a bound that 0 makes as strict as it gets. */
export function secondsOrZero(v: string): number {
  const n = numberIn(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds, 0 or more');
  return n;
}

/** A whole number, 0 or more: counts. */
export function wholeNumber(v: string): number {
  const n = numberIn(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

/** A whole number above 0: sizes of pools. */
export function wholeAbove0(v: string): number {
  const n = numberIn(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

/** A percentage in (0, 100]. */
export function percent(v: string): number {
  const n = numberIn(v);
  if (!Number.isFinite(n) || n <= 0 || n > 100)
    throw new InvalidArgumentError('expected a percentage in (0, 100]');
  return n;
}
